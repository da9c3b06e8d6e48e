"""The OpenAPI schema says what the responses hold (the schemathesis run,
tests/test_api_schema.py, checks every response against it)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("component, field", [
    ("Account", "tier"), ("MenuLine", "limit_per_account"), ("MenuLine", "auto_approve_up_to"),
    ("TierAssignment", "old_tier"), ("TierAssignment", "new_tier"), ("TierAssignment", "by"),
    ("Transition", "from_stage"), ("ProgramOrder", "tier"), ("Lead", "stage"),
])
def test_fields_that_may_be_null_say_so(api, abm_admin, component, field):
    schema = api.as_user(abm_admin).get("/api/v1/schema/?format=json").json()
    assert schema["components"]["schemas"][component]["properties"][field]["nullable"]


def test_a_transitions_channel_may_be_blank(api, abm_admin):
    schema = api.as_user(abm_admin).get("/api/v1/schema/?format=json").json()
    components = schema["components"]["schemas"]
    channel = components["Transition"]["properties"]["channel"]
    options = channel.get("oneOf", [channel])
    allowed = set()
    for option in options:
        enum = components[option["$ref"].rsplit("/", 1)[-1]] if "$ref" in option else option
        allowed.update(enum.get("enum", []))
    assert "" in allowed and "events" in allowed
