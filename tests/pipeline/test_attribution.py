"""Attribution on small cases computed by hand.

Account X: an event carrying campaign A's code on day 1, an order of an item of campaign B
placed on day 5, a lead of campaign C created on day 8 (its entry into the funnel is a second
record of the same touch), a funnel transition with campaign A on day 10; deal D1 (1,000)
opens on day 12. Its touches, in order: A(1) B(5) C(8) A(10); the W-shaped middle key is the
last touch at or before the lead's creation: C(8).

| model      | A     | B   | C   |
|------------|-------|-----|-----|
| first      | 1,000 | 0   | 0   |
| last       | 1,000 | 0   | 0   |
| linear     | 500   | 250 | 250 |
| u_shaped   | 800   | 100 | 100 |
| w_shaped   | 600   | 100 | 300 |

Account Y: one touch (an event of B on day 20); D2 (300) opens on day 21 and is won: all of
it goes to B under every model. Account Z: a touch of A on day 1, but D3 (200) opens on day
200, past the 180-day lookback: unattributed. The period's pipeline is 1,500."""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from funnel import ingesters as funnel_ingesters
from funnel import services as funnel_services
from pipeline import attribution
from pipeline.attribution import AttributionQuery
from pipeline.services import deal_touches
from tests import factories
from tests.pipeline.helpers import day, deal, event, move, order

pytestmark = pytest.mark.django_db

D = Decimal
PERIOD = (date(2025, 1, 1), date(2025, 12, 31))


@pytest.fixture
def world():
    a = factories.CampaignFactory(name="Alpha", code="alpha")
    b = factories.CampaignFactory(name="Beta", code="beta")
    c = factories.CampaignFactory(name="Gamma", code="gamma")
    x = factories.AccountFactory(domain="x.example.com")
    y = factories.AccountFactory(domain="y.example.com")
    z = factories.AccountFactory(domain="z.example.com")
    event(x, day(1), "alpha")
    order(x, b, day(5))
    order(x, c, day(6), status="rejected")  # not placed: no touch
    funnel_services.lead_create(email="pat@x.example.com", created_at=day(8), campaign=c)
    funnel_ingesters.transitions_record(items=[
        {"account": x.domain, "to_stage": "target", "occurred_at": day(10).isoformat(),
         "campaign": "alpha"}], user=None)
    event(x, day(13), "alpha")  # after D1 opened: not one of its touches
    d1 = deal(x, "proposal", 12, amount=D(1000))
    event(y, day(20), "beta")
    d2 = deal(y, "proposal", 21, amount=D(300))
    move(d2, "won", 30)
    event(z, day(1), "alpha")
    deal(z, "proposal", 200, amount=D(200))
    return {"a": a, "b": b, "c": c, "x": x, "y": y, "z": z, "d1": d1, "d2": d2}


@pytest.fixture(params=["per_request", "table"], autouse=True)
def source(request, monkeypatch):
    """Every case twice: computed per request from the touches, and read from the per-deal
    touch table (rebuilt from the same touches just before)."""
    if request.param == "table":
        original = attribution._rows

        def rows(**kwargs):
            deal_touches.deal_touches_rebuild()
            assert deal_touches.readable()
            return original(**kwargs)
        monkeypatch.setattr(attribution, "_rows", rows)
    return request.param


def run(model, start=PERIOD[0], end=PERIOD[1], deals=None):
    return attribution.attribution(AttributionQuery(start=start, end=end, model=model,
                                                    deals=deals))


def split(result):
    return {row["name"]: row["attributed_pipeline"] for row in result["campaigns"]}


def cents(value):
    return D(value).quantize(D("0.01"), rounding=ROUND_HALF_UP)


@pytest.mark.parametrize("model, alpha, beta, gamma", [
    ("first", "1000", "300", "0"),
    ("last", "1000", "300", "0"),
    ("linear", "500", "550", "250"),
    ("u_shaped", "800", "400", "100"),
    ("w_shaped", "600", "400", "300"),
])
def test_each_model_by_hand(world, model, alpha, beta, gamma):
    result = run(model)
    assert result["model"] == model and result["deals"] == 3
    expected = {"Alpha": D(alpha), "Beta": D(beta), "Gamma": D(gamma)}
    # Only the campaigns the model credits are listed.
    assert split(result) == {name: value + D("0.00") for name, value in expected.items()
                             if value}
    assert result["unattributed"] == {"deals": 1, "pipeline": D("200.00"),
                                      "won_revenue": D("0.00")}
    assert result["total_pipeline"] == D("1500.00")
    won = {row["name"]: row["attributed_won_revenue"] for row in result["campaigns"]}
    assert won["Beta"] == D("300.00") and won["Alpha"] == won.get("Gamma", 0) == D("0.00")


def test_time_decay_by_hand(world):
    """Ages 11, 7, 4 and 2 days: weights 2^(-age/7), normalised; each campaign's exact
    share rounded to the cent by the largest remainder (1,300 attributed in all)."""
    raw = [2 ** (-age / 7) for age in (11, 7, 4, 2)]
    weights = [w / sum(raw) for w in raw]
    exact = {"Alpha": 1000 * (weights[0] + weights[3]), "Beta": 300 + 1000 * weights[1],
             "Gamma": 1000 * weights[2]}
    floors = {k: D(int(v * 100)) / 100 for k, v in exact.items()}
    left = int((D(1300) - sum(floors.values())) * 100)
    for name in sorted(exact, key=lambda k: -(exact[k] * 100 - int(exact[k] * 100)))[:left]:
        floors[name] += D("0.01")
    result = run("time_decay")
    assert split(result) == floors
    deals = {row["name"]: row["attributed_deals"] for row in result["campaigns"]}
    assert deals["Beta"] == pytest.approx(1 + weights[1], abs=1e-4)


@pytest.mark.parametrize("model", attribution.MODELS)
def test_conservation_and_a_single_touch(world, model):
    result = run(model)
    total = sum(row["attributed_pipeline"] for row in result["campaigns"])
    assert total + result["unattributed"]["pipeline"] == result["total_pipeline"]
    deals = sum(row["attributed_deals"] for row in result["campaigns"])
    assert deals + result["unattributed"]["deals"] == pytest.approx(result["deals"], abs=1e-3)
    # D2 has a single touch: all of it is Beta's under every model.
    only_y = run(model, deals=__import__("pipeline").selectors.opportunity_list().filter(
        account=world["y"]))
    assert split(only_y) == {"Beta": D("300.00")}


def test_the_lookback_edge(world, settings):
    settings.ABMCRM_ATTRIBUTION_LOOKBACK_DAYS = 199  # Z's touch is 199 days before D3
    assert split(run("first"))["Alpha"] == D("1200.00")
    settings.ABMCRM_ATTRIBUTION_LOOKBACK_DAYS = 198
    assert split(run("first"))["Alpha"] == D("1000.00")


def test_a_period_picks_deals_by_opening(world):
    result = run("linear", start=date(2025, 1, 12), end=date(2025, 1, 12))
    assert result["deals"] == 1 and result["total_pipeline"] == D("1000.00")


def test_a_reopened_deal_counts_its_won_revenue_only_when_won_again(world):
    d2 = world["d2"]
    move(d2, "negotiation", 31, reopen=True)
    won = {r["name"]: r["attributed_won_revenue"] for r in run("first")["campaigns"]}
    assert won["Beta"] == D("0.00")
    move(d2, "won", 35)
    won = {r["name"]: r["attributed_won_revenue"] for r in run("first")["campaigns"]}
    assert won["Beta"] == D("300.00")


def test_ties_in_time_are_broken_by_campaign_id():
    first, second = factories.CampaignFactory(code="one"), factories.CampaignFactory(code="two")
    account = factories.AccountFactory()
    event(account, day(3), "two")
    event(account, day(3), "one", key="pricing_t")
    deal(account, "proposal", 4, amount=D(100))
    assert first.pk < second.pk
    assert {r["campaign"]: r["attributed_pipeline"] for r in run("first")["campaigns"]} == {
        first.pk: D("100.00")}
    assert {r["campaign"]: r["attributed_pipeline"] for r in run("last")["campaigns"]} == {
        second.pk: D("100.00")}


def test_a_deal_with_a_campaign_is_its_own_opening_touch():
    campaign, earlier = factories.CampaignFactory(code="src"), factories.CampaignFactory()
    account = factories.AccountFactory()
    event(account, day(1), earlier.code)
    deal(account, "proposal", 5, amount=D(100), campaign=campaign)
    # Two touches: the event and the deal's own campaign when it opened (which its automatic
    # funnel move, at the same moment and with the same campaign, does not double).
    assert split(run("last")) == {campaign.name: D("100.00")}
    assert split(run("linear")) == {campaign.name: D("50.00"), earlier.name: D("50.00")}


def test_w_shaped_edges():
    """Two touches and no lead: the middle key is the first touch; 30 + 30 to it, 30 to the
    last, the 10 spread over both: 65/35. Three touches, all keys: 10 spread over three."""
    a, b, c = (factories.CampaignFactory(code=code) for code in ("wa", "wb", "wc"))
    two, three = factories.AccountFactory(), factories.AccountFactory()
    event(two, day(1), "wa")
    event(two, day(2), "wb")
    deal(two, "proposal", 3, amount=D(100))
    event(three, day(1), "wa")
    event(three, day(2), "wb")
    funnel_ingesters.transitions_record(items=[
        {"account": three.domain, "to_stage": "engaged", "occurred_at": day(2).isoformat()}],
        user=None)
    event(three, day(3), "wc")
    deal(three, "proposal", 4, amount=D(300))
    result = {r["name"]: r["attributed_pipeline"] for r in run("w_shaped")["campaigns"]}
    # two: a 65, b 35; three: (engaged on day 2 → middle key b) a 100, b 100, c 100.
    assert result == {a.name: D("165.00"), b.name: D("135.00"), c.name: D("100.00")}


def test_no_deals():
    result = run("w_shaped")
    assert result["campaigns"] == [] and result["total_pipeline"] == D("0.00")
    assert result["unattributed"] == {"deals": 0, "pipeline": D("0.00"),
                                      "won_revenue": D("0.00")}


def test_touches_older_than_the_lookback_are_ignored(world):
    event(world["y"], day(21) - timedelta(days=181), "gamma")
    assert split(run("first"))["Beta"] == D("300.00")


@pytest.mark.parametrize("model, expected", [
    ("first", {"Alpha": "700"}),
    ("last", {"Gamma": "300", "Alpha": "400"}),
    ("linear", {"Alpha": "300", "Beta": "200", "Gamma": "200"}),
    ("u_shaped", {"Alpha": "440", "Beta": "100", "Gamma": "160"}),
    ("w_shaped", {"Alpha": "540", "Beta": "50", "Gamma": "110"}),
])
def test_repeated_records_and_overlapping_windows(model, expected):
    """Touches A(1) B(2) C(3), D1 (300) opens on day 4, A(5), D2 (400) on day 6: the two
    windows share three touches. B on day 2 comes through three records (two events and an
    order, at the same moment): one touch. By hand: linear D1 100/100/100, D2 100 each of
    four (A 200); U-shaped D1 40/20/40, D2 40/10/10/40; W-shaped (no lead: the middle key is
    the first touch) D1 A 60, B 10, C 30, D2 A 30 + 30 + 30, B 5, C 5."""
    a, b, c = (factories.CampaignFactory(name=name, code=name.lower())
               for name in ("Alpha", "Beta", "Gamma"))
    account = factories.AccountFactory()
    event(account, day(1), "alpha")
    event(account, day(2), "beta")
    event(account, day(2), "beta", key="pricing_t")
    order(account, b, day(2))
    event(account, day(3), "gamma")
    deal(account, "proposal", 4, amount=D(300))
    event(account, day(5), "alpha")
    deal(account, "proposal", 6, amount=D(400))
    result = run(model)
    assert split(result) == {name: D(value) + D("0.00") for name, value in expected.items()}
    assert result["unattributed"]["deals"] == 0 and result["total_pipeline"] == D("700.00")
