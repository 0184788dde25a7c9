"""The live service against its own OpenAPI document, by schemathesis: generated requests (valid and
invalid) must never give a server error, and every response must match the documented schemas.

Cases are drawn through schemathesis's strategies with hypothesis's own `@given`, not through
schemathesis's pytest plugin, which follows pytest's internals (it broke on pytest 9.2)."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from live_registry import serve_registry
from schemathesis.checks import positive_data_acceptance
from test_registry_api import _http, add_operator
from test_server import live_server  # noqa: F401 - the real gunicorn fixture

# The multipart upload is left out: any bytes are a schema-valid "binary" image, and an unreadable
# picture is a MALFORMED verdict, not a bad request (test_server.py covers it).
EXCLUDED = {"/v1/verify-image"}


@pytest.fixture
def operations(live_server):  # noqa: F811
    url, keys, _, _ = live_server
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    schema.config.base_url = url  # type: ignore[attr-defined]
    found = [result.ok() for result in schema.get_all_operations()]
    chosen = [op for op in found if op.path not in EXCLUDED]
    assert len(chosen) >= 5, [op.label for op in found]
    return chosen, {"Authorization": f"Bearer {keys['hotel']}"}


def _cases_sent(operation, examples: int, call) -> int:
    """Send `examples` generated cases of one operation through `call`; how many were sent."""
    calls: list = []

    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def conforms(case) -> None:
        calls.append(case)
        call(case)

    conforms()
    return len(calls)


def _each_operation_conforms(chosen: list, examples: int, call) -> None:
    """Every operation gets its own generated cases: none is left to chance."""
    for operation in chosen:
        assert _cases_sent(operation, examples, call), f"{operation.label} was never exercised"


def test_api_conforms_to_its_openapi_document(operations) -> None:
    chosen, auth = operations
    _each_operation_conforms(chosen, 25, lambda case: case.call_and_validate(headers=auth))


# ---- the registry's admin API ------------------------------------------------------------------------------

# A schema-valid request may still break one of the office's rules that JSON Schema cannot say (a birth date
# in the future, one person one permit, four eyes): those are 422/409 problems, so "positive data is
# accepted" does not hold by design. Every other check runs, including that invalid data is refused.
ADMIN_EXCLUDED_CHECKS = [positive_data_acceptance]


def test_admin_api_conforms_to_its_openapi_document(registry_home, tmp_path) -> None:
    admin = add_operator(registry_home, "root", "admin", "S-0001")
    with serve_registry(registry_home, tmp_path / "gunicorn.log") as base:
        auth = {"Authorization": f"Bearer {admin}"}
        status, _, body = _http("GET", f"{base}/admin/v1/openapi.json")
        assert status == 401  # the document maps the API: operators only, like every /admin/ route
        status, _, body = _http("GET", f"{base}/admin/v1/openapi.json", admin)
        document = json.loads(body)
        assert document["openapi"] == "3.1.0"
        ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
        assert len(ids) == len(set(ids)) >= 20
        schema = schemathesis.openapi.from_dict(document)
        schema.config.base_url = base  # type: ignore[attr-defined]
        chosen = [result.ok() for result in schema.get_all_operations()]
        _each_operation_conforms(chosen, 8, lambda case: case.call_and_validate(
            headers=auth, excluded_checks=ADMIN_EXCLUDED_CHECKS))


def test_documents_name_every_operation_and_enumerate_reasons() -> None:
    from keys.errors import Reason
    from registry.api.openapi import OPENAPI as ADMIN
    from verifier.server.openapi import OPENAPI as VERIFIER

    for document in (ADMIN, VERIFIER):
        operations = [op for item in document["paths"].values() for op in item.values()]
        assert all(op.get("operationId") for op in operations)
        problem = document["components"]["schemas"]["Problem"]["properties"]["reason"]
        assert set(problem["enum"]) == {r.value for r in Reason}
    result = VERIFIER["components"]["schemas"]["Result"]["properties"]
    assert result["reason"]["enum"] and result["checked_at"]["format"] == "date-time"
    permit = result["permit"]["oneOf"][1]["properties"]
    assert permit["birth_date"]["format"] == "date" and permit["signed_at"]["format"] == "date-time"
