import pytest
from pydantic import ValidationError

from todo_common.settings import Settings, sqlalchemy_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@host/db", "postgresql+psycopg://u:p@host/db"),
        ("postgresql://u:p@host:5432/db", "postgresql+psycopg://u:p@host:5432/db"),
        (
            "postgresql://u:p@ep-x-pooler.eu-central-1.aws.neon.tech/db?sslmode=require&channel_binding=require",
            "postgresql+psycopg://u:p@ep-x-pooler.eu-central-1.aws.neon.tech/db?channel_binding=require&sslmode=require",
        ),
    ],
)
def test_sqlalchemy_url_uses_psycopg_and_keeps_the_query(url: str, expected: str) -> None:
    assert sqlalchemy_url(url) == expected


def test_sqlalchemy_url_refuses_other_databases() -> None:
    with pytest.raises(ValueError, match="postgres"):
        sqlalchemy_url("mysql://u:p@host/db")


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESS_TOKEN_EXPIRE_MINUTES", "45")
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("GOOGLE_GEMINI_API_KEY", "key-from-the-other-name")
    monkeypatch.setenv("JWKS_URL", "")

    settings = Settings()

    assert settings.ACCESS_TOKEN_EXPIRE_MINUTES == 45
    assert settings.GEMINI_API_KEY is not None
    assert settings.GEMINI_API_KEY.get_secret_value() == "key-from-the-other-name"
    assert settings.JWKS_URL is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECRET_KEY", "too-short"),
        ("BETTER_AUTH_SECRET", "x" * 31),
        ("BCRYPT_ROUNDS", "3"),
        ("ALGORITHM", "none"),
    ],
)
def test_settings_refuse_unsafe_values(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=name):
        Settings()


def test_settings_never_show_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "s3cr3t-" + "k" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:hunter2@host/db")

    shown = repr(Settings()) + str(Settings().model_dump())

    assert "s3cr3t" not in shown
    assert "hunter2" not in shown
