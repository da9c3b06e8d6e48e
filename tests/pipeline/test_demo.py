import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone

from abmcrm.core import roles
from pipeline import demo
from pipeline.models import Opportunity, OpportunityStageChange

pytestmark = pytest.mark.django_db


def test_the_demo_loads_every_deal_of_the_data_set_once():
    call_command("load_demo", stdout=io.StringIO())
    assert Opportunity.objects.count() == 8800  # those without an account given one
    owners = set(Opportunity.objects.values_list("owner__username", flat=True))
    reps = set(Group.objects.get(name=roles.SALES_REP).user_set.values_list("username",
                                                                             flat=True))
    assert None not in owners and owners <= reps and len(owners) == 30
    assert Opportunity.objects.filter(account__external_id__startswith="GEN-").count() == 1425
    assert len(demo._read("sales_teams.csv")) == 35
    assert len({u for u in reps if u not in ("rep",)}) >= 35
    assert not Opportunity.objects.filter(product="GTXPro").exists()
    assert Opportunity.objects.filter(product="GTX Pro").count() == 1480
    now = timezone.now()
    latest = Opportunity.objects.latest("opened_at").opened_at
    assert latest <= now and (now - latest).days < 30  # shifted into the recent past
    assert Opportunity.objects.filter(status="open", close_date__gte=timezone.localdate()
                                      ).exists()
    assert Opportunity.objects.filter(committee__isnull=False).exists()
    changes = OpportunityStageChange.objects.count()

    out = io.StringIO()
    totals = demo.load(stdout=out)
    assert totals == {"created": 0, "updated": 0, "unchanged": 8800, "errors": 0}
    report = out.getvalue()
    assert "1,425 rows without an account given to the generated accounts" in report
    assert "GTXPro → GTX Pro" in report
    assert OpportunityStageChange.objects.count() == changes
