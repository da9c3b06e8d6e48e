"""Who may read, write and delete with the shared permission classes
(abmcrm/core/permissions.py)."""

import pytest
from rest_framework.test import APIRequestFactory

from abmcrm.core.permissions import (
    HasAbmRole,
    IsAbmAdmin,
    IsMarketer,
    ReadForRolesWriteForAdmins,
    ReadForRolesWriteForMarketers,
    ReadForRolesWriteForMarketersDeleteForAdmins,
)

pytestmark = pytest.mark.django_db
METHODS = ["GET", "POST", "PATCH", "DELETE"]
# (class, {user fixture: the methods allowed})
MATRIX = [
    (HasAbmRole, {"rep": METHODS, "marketer": METHODS, "abm_admin": METHODS, "nobody": []}),
    (IsMarketer, {"rep": [], "marketer": METHODS, "abm_admin": METHODS, "nobody": []}),
    (IsAbmAdmin, {"rep": [], "marketer": [], "abm_admin": METHODS, "nobody": []}),
    (ReadForRolesWriteForAdmins, {"rep": ["GET"], "marketer": ["GET"],
                                  "abm_admin": METHODS, "nobody": []}),
    (ReadForRolesWriteForMarketers, {"rep": ["GET"], "marketer": METHODS,
                                     "abm_admin": METHODS, "nobody": []}),
    (ReadForRolesWriteForMarketersDeleteForAdmins, {
        "rep": ["GET"], "marketer": ["GET", "POST", "PATCH"], "abm_admin": METHODS,
        "nobody": []}),
]


@pytest.mark.parametrize("permission, allowed", MATRIX, ids=[m[0].__name__ for m in MATRIX])
def test_who_may_do_what(request, permission, allowed):
    factory = APIRequestFactory()
    for fixture, methods in allowed.items():
        user = request.getfixturevalue(fixture)
        for method in METHODS:
            http = factory.generic(method, "/")
            http.user = user
            assert permission().has_permission(http, None) == (method in methods), (
                fixture, method)


def test_the_refusal_says_who_may():
    assert ReadForRolesWriteForAdmins().message == "Only ABM admins may change this."
    assert ReadForRolesWriteForMarketersDeleteForAdmins().message == (
        "Only marketers and ABM admins may change this.")


@pytest.mark.parametrize("method", ["FOO", "TRACE", "PROPFIND", "CONNECT"])
@pytest.mark.parametrize("role", ["rep", "marketer", "abm_admin"])
@pytest.mark.parametrize("path", ["/api/v1/accounts/", "/api/v1/accounts/{account}/",
                                  "/api/v1/contacts/", "/api/v1/contacts/{contact}/"])
def test_an_unknown_method_is_405_for_every_role(api, request, method, role, path):
    """AccountPermission used to look the method up in its table (KeyError: a 500)."""
    from tests.factories import ContactFactory

    contact = ContactFactory()
    client = api.as_user(request.getfixturevalue(role))
    response = client.generic(method, path.format(account=contact.account_id,
                                                  contact=contact.pk))
    assert response.status_code == 405


def test_an_unknown_method_anonymously_is_401():
    from rest_framework.test import APIClient

    assert APIClient().generic("FOO", "/api/v1/accounts/").status_code == 401
