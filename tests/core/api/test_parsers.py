"""The API's JSON parser (abmcrm/core/api/parsers.py): every JSON endpoint, the token
endpoint included, answers 400 to a body it cannot take, never 500."""

import pytest
from rest_framework.test import APIClient

from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

DEEP = b"[" * 1000 + b"]" * 1000
DEEPER = b"[" * 100_000
OPEN_OBJECTS = b'{"a":' * 5000 + b"1" + b"}" * 5000
JUST_TOO_DEEP = b"[" * 65 + b"]" * 65


@pytest.mark.parametrize("body", [DEEP, DEEPER, OPEN_OBJECTS, JUST_TOO_DEEP])
def test_the_token_endpoint_refuses_deep_json_anonymously(body):
    response = APIClient().post("/api/v1/auth/token/", data=body,
                                content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


@pytest.mark.parametrize("role", ["rep", "marketer", "abm_admin"])
@pytest.mark.parametrize("method, path", [
    ("post", "/api/v1/accounts/bulk/"),
    ("post", "/api/v1/contacts/"),
    ("post", "/api/v1/intent-signals/bulk/"),
    ("post", "/api/v1/tiers/recompute/"),
    ("post", "/api/v1/orders/"),
    ("post", "/api/v1/funnel/transitions/"),
    ("post", "/api/v1/segments/"),
    ("patch", "/api/v1/accounts/{account}/"),
])
def test_every_json_endpoint_refuses_deep_json(api, request, role, method, path):
    account = AccountFactory()
    client = api.as_user(request.getfixturevalue(role))
    response = getattr(client, method)(path.format(account=account.pk), data=DEEP,
                                       content_type="application/json")
    # 400 whoever asks: the body is read before any permission is decided on its content.
    assert response.status_code in (400, 403), response.content
    if response.status_code == 400:
        assert "nested" in response.json()["detail"]


def test_sixty_four_levels_are_still_taken(api, abm_admin):
    """The limit is far above any real document, and a legal one is parsed as before."""
    nested = b"[" * 63 + b"{}" + b"]" * 63
    response = api.as_user(abm_admin).post("/api/v1/accounts/bulk/", data=nested,
                                           content_type="application/json")
    assert response.status_code == 200
    assert response.json()["errors"][0]["errors"] == {"non_field_errors": ["Expected an object."]}


def test_malformed_json_is_still_a_400(api, abm_admin):
    response = api.as_user(abm_admin).post("/api/v1/accounts/bulk/", data=b'[{"name": ',
                                           content_type="application/json")
    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]


def test_a_good_token_request_still_works(rep):
    response = APIClient().post("/api/v1/auth/token/", {"username": "rep1",
                                                        "password": "pass-word-1"},
                                format="json")
    assert response.status_code == 200 and response.json()["token"]
