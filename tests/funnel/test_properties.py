"""Properties of the report over random histories (Hypothesis)."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnel import ingesters, services
from funnel.models import AccountFunnel, Lead, StageTransition
from tests import factories
from tests.funnel.helpers import day, jan, reached, report
from tiers.models import Account

pytestmark = pytest.mark.django_db

ABM = ["target", "engaged", "qualified", "sql", "opportunity", "won"]
DG = ["mql", "sql", "opportunity", "won"]
CHANNELS = ["events", "website", "outbound", ""]

# One entity's journey: its entry day, then forward moves (stage index jumps, which may skip
# stages), each some hours after the last, possibly ending lost.
journey = st.tuples(
    st.integers(min_value=1, max_value=28),
    st.lists(st.integers(min_value=1, max_value=3), max_size=5),
    st.lists(st.integers(min_value=1, max_value=200), min_size=6, max_size=6),
    st.booleans(),
    st.sampled_from(CHANNELS),
)


def _items(ref_key, ref, path, start_index, entry, jumps, gaps, lost, channel):
    at = day(entry)
    items = []
    index = max(start_index - 1, 0)
    if start_index == 0:
        items.append({ref_key: ref, "to_stage": path[0], "occurred_at": at.isoformat(),
                      "channel": channel})
    for jump, gap in zip(jumps, gaps, strict=False):
        if index + jump >= len(path):
            break
        index += jump
        at += timedelta(hours=gap)
        items.append({ref_key: ref, "to_stage": path[index], "occurred_at": at.isoformat(),
                      **({"amount": "10"} if path[index] in ("opportunity", "won") else {})})
    if lost and path[index] != "won":
        items.append({ref_key: ref, "to_stage": "lost",
                      "occurred_at": (at + timedelta(hours=1)).isoformat()})
    return items


def _build(accounts, leads):
    StageTransition.objects.all().delete()
    AccountFunnel.objects.all().delete()
    Lead.objects.all().delete()
    Account.objects.all().delete()
    items = []
    for n, (entry, jumps, gaps, lost, channel) in enumerate(accounts):
        account = factories.AccountFactory(domain=f"p{n}.example.com")
        items += _items("account", account.domain, ABM, 0, entry, jumps, gaps, lost, channel)
    for n, (entry, jumps, gaps, lost, channel) in enumerate(leads):
        lead = services.lead_create(email=f"p{n}@leads.example.org", created_at=day(entry),
                                    channel=channel)
        # Leads are already at inquiry: their moves start from there.
        items += _items("lead", lead.email, ["inquiry", *DG], 1, entry, jumps, gaps, lost,
                        channel)
    batch = ingesters.transitions_record(items=items, user=None)
    assert not batch.errors, batch.errors


histories = dict(accounts=st.lists(journey, max_size=8), leads=st.lists(journey, max_size=8))
hsettings = settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])


@hsettings
@given(**histories, mode=st.sampled_from(["cohort", "period"]))
def test_cohort_counts_never_grow_down_the_funnel(accounts, leads, mode):
    _build(accounts, leads)
    rep = report(jan(1), jan(31), mode="cohort")
    for side in ("abm", "demand_gen"):
        counts = reached(rep, side)
        assert counts == sorted(counts, reverse=True), (side, counts)
        for row in rep["sides"][side]:
            rate = row["conversion_to_next"]
            assert rate is None or 0 <= rate <= 1
    # In both modes, an entity is lost at most once per stage it reached.
    rep = report(jan(1), jan(31), mode=mode)
    for side in ("abm", "demand_gen"):
        for row in rep["sides"][side]:
            assert row["lost"] <= row["reached"] or mode == "period"


@hsettings
@given(**histories, mode=st.sampled_from(["cohort", "period"]),
       group_by=st.sampled_from(["channel", "month", "tier", "campaign"]))
def test_groups_sum_to_the_total(accounts, leads, mode, group_by):
    _build(accounts, leads)
    rep = report(jan(1), jan(31) + timedelta(days=40), mode=mode, group_by=group_by)
    for side in ("abm", "demand_gen"):
        for i, total in enumerate(rep["sides"][side]):
            for key in ("reached", "lost"):
                assert sum(g["sides"][side][i][key] for g in rep["groups"]) == total[key]
        assert sum(g["summary"][side]["won_revenue"] for g in rep["groups"]) == \
            rep["summary"][side]["won_revenue"]


@hsettings
@given(**histories, cut=st.tuples(st.integers(1, 28), st.integers(0, 27)))
def test_a_sub_period_cohort_is_a_subset(accounts, leads, cut):
    _build(accounts, leads)
    first, length = cut
    whole = report(jan(1), jan(31))
    part = report(jan(first), min(jan(first) + timedelta(days=length), jan(31)))
    for side in ("abm", "demand_gen"):
        for big, small in zip(reached(whole, side), reached(part, side), strict=True):
            assert small <= big
        for big, small in zip(whole["sides"][side], part["sides"][side], strict=True):
            assert small["lost"] <= big["lost"]


# The report reads the state rows; the history says what it must be ----------------------

# One entity's moves: (stage index on its path, or -1 for lost; hours after the last move,
# negative for an out-of-order move that is refused). Moves go back and forth; a closed
# entity moves on with "reopen".
wander = st.tuples(
    st.integers(min_value=1, max_value=28),
    st.lists(st.tuples(st.integers(min_value=-1, max_value=6),
                       st.integers(min_value=-30, max_value=400)), max_size=7),
    st.sampled_from(CHANNELS),
)


def _wander_items(ref_key, ref, path, entry, moves, channel, current):
    at, items = day(entry), []
    if current is None:
        items.append({ref_key: ref, "to_stage": path[0], "occurred_at": at.isoformat(),
                      "channel": channel})
        current = path[0]
    for index, hours in moves:
        to = "lost" if index < 0 else path[index % len(path)]
        if to == current:
            continue
        when = at + timedelta(hours=hours)
        item = {ref_key: ref, "to_stage": to, "occurred_at": when.isoformat(),
                **({"amount": str(hours % 90 + 1)} if to in ("opportunity", "won") else {})}
        if current in ("won", "lost"):
            item["reopen"] = True
        items.append(item)
        if hours >= 0:  # an out-of-order move is refused: the entity stays where it was
            at, current = when, to
    return items


def _build_wandering(accounts, leads, extra_stage, batches):
    from funnel.models import Stage

    StageTransition.objects.all().delete()
    AccountFunnel.objects.all().delete()
    Lead.objects.all().delete()
    Account.objects.all().delete()
    Stage.objects.filter(slot__isnull=True, is_lost=False).delete()
    abm, dg = list(ABM), ["inquiry", *DG]
    if extra_stage:
        Stage.objects.create(slug="review", name="Review", side="shared", position=45)
        abm.insert(4, "review")
        dg.insert(3, "review")
    items = []
    for n, (entry, moves, channel) in enumerate(accounts):
        account = factories.AccountFactory(domain=f"w{n}.example.com",
                                           tier=factories.tier(n % 3 + 1) if n % 4 else None)
        items += _wander_items("account", account.domain, abm, entry, moves, channel, None)
    for n, (entry, moves, channel) in enumerate(leads):
        lead = services.lead_create(email=f"w{n}@leads.example.org", created_at=day(entry),
                                    channel=channel)
        items += _wander_items("lead", lead.email, dg, entry, moves, channel, "inquiry")
    # The same moves in one request or several: an entity moves several times a batch, or
    # once a batch.
    size = max(1, len(items) // batches)
    for start in range(0, len(items), size):
        ingesters.transitions_record(items=items[start:start + size], user=None)


@hsettings
@given(accounts=st.lists(wander, max_size=8), leads=st.lists(wander, max_size=8),
       extra_stage=st.booleans(), batches=st.integers(1, 4),
       mode=st.sampled_from(["cohort", "period"]),
       group_by=st.sampled_from([None, "channel", "month", "tier", "campaign"]),
       window=st.tuples(st.integers(1, 40), st.integers(0, 40)))
def test_the_report_equals_the_report_from_history(accounts, leads, extra_stage, batches,
                                                   mode, group_by, window):
    from funnel.reports import ReportQuery
    from tests.funnel.helpers import assert_state_rows_follow_history
    from tests.funnel.history_report import history_report

    _build_wandering(accounts, leads, extra_stage, batches)
    assert_state_rows_follow_history()
    first, length = window
    start = jan(1) + timedelta(days=first - 1)
    query = ReportQuery(start=start, end=start + timedelta(days=length), mode=mode,
                        group_by=group_by)
    assert report(query.start, query.end, mode=mode, group_by=group_by) == \
        history_report(query)
