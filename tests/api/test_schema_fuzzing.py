"""Schemathesis: requests generated from the OpenAPI document of every function, sent to the local
server (every function as template.yaml routes it), with a valid token and without.

Checked for every response: no 5xx, a documented status code, the documented content type, a body
that fits the documented schema, schema-invalid input refused with a 4xx, and no access without a
valid token. Bounded: at most EXAMPLES requests per operation.

Left out, on purpose:
- unsupported methods: an unrouted method answers what API Gateway answers (404), which the
  functions cannot change;
- "schema-valid data is accepted": some rules go beyond what the schema says (an email that can
  receive mail, a password with a letter and a digit, a title that is not only white space); they
  answer a documented 400 or 422.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance, unsupported_method

from localdev.fake_llm import ScriptedModel, text
from localdev.server import local_app
from support.auth import hs256_token, new_user_id

EXAMPLES = 30
USER_ID = new_user_id()
TOKEN = hs256_token(USER_ID)

schema = schemathesis.openapi.from_asgi("/openapi.json", local_app())


@schema.auth()
class BearerToken:
    """A valid token for every request (Schemathesis also tries each operation without it)."""

    def get(self, case: Any, context: Any) -> str:
        return TOKEN

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def answered(request: pytest.FixtureRequest) -> Iterator[set[int]]:
    """The statuses one operation answered across its examples, checked once they have all run.

    A run in which every request were refused 401 would pass the checks as well: each operation
    must have been answered otherwise too, and creating a task must have worked at least once.
    """
    statuses: set[int] = set()
    yield statuses
    assert statuses - {401}, f"{request.node.name}: every request was refused 401"
    if request.node.name.endswith("[POST /api/{user_id}/tasks]"):
        assert 201 in statuses, statuses


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_documented_contract(case: Any, model: ScriptedModel, answered: set[int]) -> None:
    if case.path_parameters and "user_id" in case.path_parameters:
        case.path_parameters["user_id"] = USER_ID  # the token's user: past the ownership check
    model.script(*[text("Done.")] * 3)  # the chat's model answers at once

    response = case.call_and_validate(excluded_checks=[unsupported_method, positive_data_acceptance])
    if case.method.upper() == case.operation.method.upper():  # not one of the unsupported-method probes
        answered.add(response.status_code)
