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
