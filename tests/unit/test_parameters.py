"""Secrets from SSM Parameter Store (moto stands in for AWS), read once at cold start."""

from collections.abc import Iterator

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from todo_common.settings import MissingParameter, get_settings

DB_PARAMETER = "/todo-api/dev/database-url"
KEY_PARAMETER = "/todo-api/dev/secret-key"


def new_execution_environment() -> None:
    """Forget what this process read: the cached parameters and settings."""
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    get_settings.cache_clear()


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A fake SSM, and an environment where the secrets are named by parameter, not given."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("SECRET_KEY")
    monkeypatch.setenv("DATABASE_URL_PARAMETER", DB_PARAMETER)
    monkeypatch.setenv("SECRET_KEY_PARAMETER", KEY_PARAMETER)
    with mock_aws():
        new_execution_environment()
        yield boto3.client("ssm")
    new_execution_environment()


def put(client: object, name: str, value: str) -> None:
    client.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)  # type: ignore[attr-defined]


def test_secrets_are_read_from_parameter_store(ssm: object) -> None:
    put(ssm, DB_PARAMETER, "postgresql://app:pw@ep-x-pooler.neon.tech/db?sslmode=require")
    put(ssm, KEY_PARAMETER, "k" * 40)

    settings = get_settings()

    assert settings.DATABASE_URL is not None
    assert settings.DATABASE_URL.get_secret_value().startswith("postgresql://app:pw@ep-x-pooler")
    assert settings.SECRET_KEY is not None
    assert settings.SECRET_KEY.get_secret_value() == "k" * 40


def test_an_environment_variable_of_the_same_name_wins(ssm: object, monkeypatch: pytest.MonkeyPatch) -> None:
    put(ssm, DB_PARAMETER, "postgresql://from-ssm/db")
    put(ssm, KEY_PARAMETER, "k" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://from-env/db")

    settings = get_settings()

    assert settings.DATABASE_URL is not None
    assert settings.DATABASE_URL.get_secret_value() == "postgresql://from-env/db"


def test_a_missing_parameter_stops_the_start_naming_it(ssm: object) -> None:
    put(ssm, DB_PARAMETER, "postgresql://from-ssm/db")

    with pytest.raises(MissingParameter, match=f"SECRET_KEY: SSM parameter '{KEY_PARAMETER}'"):
        get_settings()


def test_a_rotated_secret_is_read_by_the_next_cold_start_not_per_request(ssm: object) -> None:
    put(ssm, DB_PARAMETER, "postgresql://from-ssm/db")
    put(ssm, KEY_PARAMETER, "old-" + "k" * 40)
    before = get_settings()
    put(ssm, KEY_PARAMETER, "new-" + "k" * 40)

    same_environment = get_settings()
    new_execution_environment()
    next_cold_start = get_settings()

    assert same_environment is before  # no SSM call per request
    assert next_cold_start.SECRET_KEY is not None
    assert next_cold_start.SECRET_KEY.get_secret_value() == "new-" + "k" * 40
