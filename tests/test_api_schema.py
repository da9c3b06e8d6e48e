"""The whole API against its own OpenAPI schema (`/api/v1/schema/`), fuzzed by schemathesis
for each role through a real HTTP server: no request may get a 5xx, and every documented
response must match its schema. Each operation gets a few valid and a few invalid requests
(about a minute a role on a 2-core machine), generated deterministically, so that a failure
reproduces; every failing operation is reported, not only the first."""

import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests import factories

pytestmark = [pytest.mark.schemathesis, pytest.mark.django_db(transaction=True)]

# Requests per operation, role and kind (valid, invalid): enough to reach each parameter's
# bounds and some garbage, within the time the suite can afford. Raise it for a deeper run:
# ABMCRM_SCHEMATHESIS_EXAMPLES=100 make test PYTEST_ARGS=tests/test_api_schema.py
EXAMPLES = int(os.environ.get("ABMCRM_SCHEMATHESIS_EXAMPLES", "4"))
CHECKS = [not_a_server_error, response_schema_conformance]


def _seed(rep):
    """A little of everything, so that lists answer real rows (nullable fields included)."""
    from funnel import services as funnel_services
    from programs.models import ProgramOrder
    from tiers.models import Segment

    tiered = factories.AccountFactory(owner=rep, tier=factories.tier(1))
    untiered = factories.AccountFactory(owner=None, tier=None, employees=None,
                                        annual_revenue=None, estimated_acv=None)
    factories.ContactFactory(account=tiered)
    item = factories.ProgramItemFactory(menu_tiers=[1, 2], limit_per_account=None,
                                        auto_approve_up_to=None)
    factories.ProgramItemFactory(menu_tiers=[1], limit_per_account=2, auto_approve_up_to=50)
    factories.ProgramOrderFactory(account=tiered, item=item, requested_by=rep)
    factories.ProgramOrderFactory(account=untiered, item=item, requested_by=rep,
                                  status=ProgramOrder.Status.REJECTED, reason="No")
    factories.BudgetFactory()
    funnel_services.lead_create(email="lee@leads.example.org")
    Segment.objects.create(name="Tier 1", filters={"tier": "1"})


def _token(base_url, user):
    answer = requests.post(f"{base_url}/api/v1/auth/token/",
                           json={"username": user.username, "password": "pass-word-1"},
                           timeout=30)
    answer.raise_for_status()
    return answer.json()["token"]


def _fuzz(operation, mode, base_url, headers):
    """Run one operation's examples of one generation mode; the first failure raises."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
              report_multiple_bugs=False)
    def run(case):
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=60)

    run()


def _describe(exc):
    """A failure as schemathesis words it (each check's message, and how to reproduce)."""
    parts = [str(exc)]
    for inner in getattr(exc, "exceptions", ()):
        parts.append(str(inner))
    return "\n".join(parts)[:3000]


def _has_inputs(operation):
    """Whether an operation takes anything a negative case could get wrong."""
    return bool(len(operation.path_parameters) or len(operation.query) or len(operation.body))


@pytest.mark.parametrize("role", ["rep", "marketer", "abm_admin"])
def test_the_api_keeps_to_its_schema(request, live_server, role):
    _seed(request.getfixturevalue("rep"))
    headers = {"Authorization": f"Token {_token(live_server.url, request.getfixturevalue(role))}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/?format=json",
                                           headers=headers, timeout=60)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, live_server.url, headers)
            except Unsatisfiable:
                # A GET without parameters (e.g. notifications/preferences/) has nothing to
                # make invalid: no negative case exists.
                if mode is GenerationMode.NEGATIVE and not _has_inputs(operation):
                    continue
                failures.append(f"{operation.label} ({mode.value}): no examples")
                break
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported below
                failures.append(f"{operation.label} ({mode.value}): {_describe(exc)}")
                break
    assert operations > 100
    assert not failures, f"{len(failures)} operation(s) failed:\n\n" + "\n\n".join(failures)

