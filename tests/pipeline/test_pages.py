import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pipeline.models import Opportunity
from tests import factories
from tests.pipeline.helpers import deal, event

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def book(rep, other_rep):
    account = factories.AccountFactory(name="Acme", owner=rep)
    contact = factories.ContactFactory(account=account, first_name="Grace",
                                       last_name="Hopper", buying_role="decision_maker")
    recent = timezone.now() - timedelta(days=20)
    soon = timezone.localdate() + timedelta(days=10)
    mine = deal(account, "proposal", recent, owner=rep, amount=D(1000), close_date=soon,
                name="Acme platform", contacts=[(contact, "champion")])
    theirs = deal(account, "negotiation", recent, owner=other_rep, amount=D(400),
                  name="Acme add-on", close_date=soon)
    won = deal(account, "won", recent, owner=rep, amount=D(250), name="Acme pilot",
               closed_at=timezone.now() - timedelta(days=2))
    return {"account": account, "mine": mine, "theirs": theirs, "won": won}


class TestPipelinePage:
    def test_a_rep_starts_on_their_own_open_deals(self, client, rep, book):
        client.force_login(rep)
        html = client.get("/pipeline/").content.decode()
        assert "Acme platform" in html and "Acme add-on" not in html
        assert "Acme pilot" not in html  # won: not on the board
        assert 'data-stage="proposal"' in html and "<svg" in html
        assert 'id="board-weighted">500\u00a0USD<' in html
        assert f'action="/pipeline/{book["mine"].pk}/move/"' in html
        everyone = client.get("/pipeline/", {"owner": ""}).content.decode()
        assert "Acme add-on" in everyone
        assert f'action="/pipeline/{book["theirs"].pk}/move/"' not in everyone

    @pytest.mark.parametrize("role", ["marketer", "abm_admin"])
    def test_marketers_see_every_deal_and_move_any(self, client, request, role, book):
        client.force_login(request.getfixturevalue(role))
        html = client.get("/pipeline/").content.decode()
        assert "Acme platform" in html and "Acme add-on" in html
        assert f'action="/pipeline/{book["theirs"].pk}/move/"' in html
        assert 'href="/pipeline/"' in html  # the nav link

    def test_strangers_may_not(self, client, nobody):
        client.force_login(nobody)
        assert client.get("/pipeline/").status_code == 403
        assert client.get("/pipeline/attribution.csv").status_code == 403

    def test_moving_from_the_board(self, client, rep, book):
        client.force_login(rep)
        response = client.post(f"/pipeline/{book['mine'].pk}/move/",
                               {"stage": "negotiation", "next": "/pipeline/?owner=me"})
        assert response.status_code == 302 and response["Location"] == "/pipeline/?owner=me"
        book["mine"].refresh_from_db()
        assert book["mine"].stage.slug == "negotiation"
        assert client.post(f"/pipeline/{book['theirs'].pk}/move/",
                           {"stage": "proposal"}).status_code == 403
        refused = client.post(f"/pipeline/{book['mine'].pk}/move/",
                              {"stage": "negotiation", "next": "https://evil.example.com/"},
                              follow=True)
        assert refused.redirect_chain[-1][0] == "/pipeline/"
        assert "already at" in refused.content.decode()

    def test_bad_filters_are_named_not_fatal(self, client, marketer, book):
        client.force_login(marketer)
        response = client.get("/pipeline/", {"tier": "gold", "start": "nope"})
        assert response.status_code == 200
        html = response.content.decode()
        assert 'id="pipeline-errors"' in html and "Acme add-on" in html

    def test_a_fixed_number_of_queries(self, client, marketer, book):
        client.force_login(marketer)

        def count():
            with CaptureQueriesContext(connection) as queries:
                assert client.get("/pipeline/").status_code == 200
            return len(queries)

        count()
        before = count()
        for n in range(30):
            deal(book["account"], "qualification", timezone.now() - timedelta(days=n + 1),
                 amount=D(n + 1), owner=marketer)
        assert count() == before

    def test_the_attribution_csv_is_safe_to_open(self, client, marketer):
        campaign = factories.CampaignFactory(name="=HYPERLINK(\"http://evil\")", code="evil")
        account = factories.AccountFactory()
        event(account, timezone.now() - timedelta(days=5), "evil")
        deal(account, "proposal", timezone.now() - timedelta(days=1), amount=D(300))
        client.force_login(marketer)
        response = client.get("/pipeline/attribution.csv", {"model": "first"})
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith('attachment; filename="attribution-')
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0][:2] == ["campaign_id", "campaign"]
        assert rows[1][1] == "'=HYPERLINK(\"http://evil\")" and rows[1][5] == "300.00"
        assert rows[1][0] == str(campaign.pk)
        assert rows[-1][1] == "Total" and rows[-1][5] == "300.00"
        assert client.get("/pipeline/attribution.csv", {"model": "vibes"}).status_code == 400


class TestAccountPanel:
    def test_the_account_page_lists_its_deals_and_committee(self, client, rep, book):
        client.force_login(rep)
        html = client.get(f"/accounts/{book['account'].pk}/").content.decode()
        assert 'id="opportunities"' in html
        for text in ("Acme platform", "Acme add-on", "Acme pilot", "Grace Hopper", "Champion",
                     "Closed won", "1,000\u00a0USD"):
            assert text in html, text


    def test_the_panel_is_a_fixed_number_of_queries(self, client, rep, book):
        client.force_login(rep)
        url = f"/accounts/{book['account'].pk}/"

        def count():
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            return len(queries)

        count()
        before = count()
        contact = factories.ContactFactory(account=book["account"])
        for n in range(20):
            deal(book["account"], "proposal", timezone.now() - timedelta(days=n + 1),
                 owner=rep, contacts=[(contact, "user")])
        assert count() == before


class TestFunnelRoiPanel:
    def test_the_roi_follows_the_chosen_period_and_model(self, client, marketer):
        campaign = factories.CampaignFactory(name="Summit", fixed_cost=500, code="summit")
        account = factories.AccountFactory()
        event(account, timezone.now() - timedelta(days=40), "summit")
        deal(account, "proposal", timezone.now() - timedelta(days=30), amount=D(800))
        client.force_login(marketer)
        today = timezone.localdate()
        recent = {"start": (today - timedelta(days=60)).isoformat(), "end": today.isoformat()}
        html = client.get("/funnel/", recent).content.decode()
        assert 'id="campaign-roi"' in html and "Summit" in html
        row = html[html.index(f'data-campaign="{campaign.pk}"'):]
        assert '<td class="nowrap">500\u00a0USD</td>' in row[:300]  # the cost
        assert '<td class="nowrap">800\u00a0USD</td>' in row[:600]  # the pipeline attributed
        old = {"start": (today - timedelta(days=400)).isoformat(),
               "end": (today - timedelta(days=300)).isoformat()}
        row = client.get("/funnel/", old).content.decode()
        row = row[row.index(f'data-campaign="{campaign.pk}"'):]
        assert "<td>0</td>" in row[:600] and "800\u00a0USD" not in row[:600]  # no deal then
        picked = client.get("/funnel/", {**recent, "model": "last"}).content.decode()
        assert '<option value="last" selected>' in picked
        bad = client.get("/funnel/", {**recent, "model": "vibes"}).content.decode()
        assert "is not an attribution model" in bad


def test_deleting_an_account_deletes_its_deals(book):
    book["account"].delete()
    assert not Opportunity.objects.exists()
