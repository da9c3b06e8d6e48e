import pytest
from django.core.management import call_command

from funnel.models import AccountFunnel, Lead, StageTransition
from tests.funnel.helpers import report

pytestmark = pytest.mark.django_db


def test_demo_loads_both_sides_once():
    from django.utils import timezone

    call_command("load_demo", verbosity=0)
    transitions = StageTransition.objects.count()
    assert Lead.objects.count() == 2300
    assert AccountFunnel.objects.filter(stage__slug="won").exists()
    today = timezone.localdate()
    rep = report(today.replace(year=today.year - 3), today)
    summary = rep["summary"]
    assert summary["abm"]["won_deals"] > 0 and summary["demand_gen"]["won_deals"] > 0
    # ABM works fewer accounts per won deal, for bigger deals.
    assert summary["abm"]["worked_per_won_deal"] < summary["demand_gen"]["worked_per_won_deal"]
    assert summary["abm"]["average_deal_size"] > summary["demand_gen"]["average_deal_size"]
    call_command("load_demo", verbosity=0)
    assert StageTransition.objects.count() == transitions
