"""Demo funnel history. The ABM side is derived from the public "CRM Sales Opportunities"
data set (tiers/demo_data/sales_pipeline.csv): each data-set account's first opportunity,
its first win (and the revenue it closed in the quarter after) or its loss set the dates,
and the earlier ABM stages are placed before them; the generated accounts get the journeys
of accounts that mostly never get past "engaged". The demand-gen side is generated leads,
with channels converting differently (syndication converts worst from MQL to SQL). All
dates are shifted so the data set's last month ends a week ago.

Idempotent: once demo transitions exist (external ids `demo-…`), nothing is added."""

import csv
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from programs.models import Campaign
from tiers import demo as tiers_demo
from tiers.models import Account

from . import selectors, services
from .models import AccountFunnel, Lead, PipelineQuota, StageTransition

# The data set ships with tiers (package data): next to tiers wherever it is installed.
DATA = tiers_demo.DATA
DATA_END = date(2017, 12, 31)

CAMPAIGNS = [
    # code, name, channel, fixed cost
    ("funnel-abm-plays", "ABM outbound plays", "outbound", 18000),
    ("funnel-summit", "Customer summit", "events", 25000),
    ("funnel-partners", "Partner referrals", "partners", 6000),
    ("funnel-pricing-page", "Pricing page push", "website", 9000),
    ("funnel-syndication", "Content syndication", "syndication", 14000),
    ("funnel-paid-social", "Paid social", "paid_media", 12000),
]
# channel: share of leads, P(inquiry→MQL), P(MQL→SQL)
LEAD_CHANNELS = {
    "website": (0.35, 0.35, 0.40), "events": (0.15, 0.45, 0.45),
    "syndication": (0.25, 0.30, 0.10), "paid_media": (0.20, 0.25, 0.22),
    "partners": (0.05, 0.40, 0.50),
}
FIRST = ["ana", "ben", "chloe", "dmitri", "elif", "femi", "grace", "hiro", "ines", "jonas",
         "kaya", "luis", "mei", "nora", "omar", "priya", "quinn", "rosa", "sven", "tara"]
LAST = ["adams", "baker", "chen", "diaz", "evans", "fischer", "garcia", "haddad", "ito",
        "jensen", "kim", "lopez", "moreau", "novak", "okafor", "patel", "rossi", "silva"]
FREE_DOMAINS = ["mailbox.example.org", "inbox.example.net", "corpmail.example.com"]
LEAD_COUNT = 2300


def _read(name):
    with open(DATA / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


class _Clock:
    """Data-set dates → datetimes shifted into the recent past."""

    def __init__(self, today):
        self.shift = (today - timedelta(days=7)) - DATA_END

    def at(self, day, rng):
        moved = day + self.shift
        return datetime(moved.year, moved.month, moved.day, rng.randint(8, 17),
                        rng.randint(0, 59), tzinfo=UTC)


def _campaigns():
    found = {}
    for code, name, channel, cost in CAMPAIGNS:
        campaign = Campaign.objects.filter(Q(code=code) | Q(name=name)).first()
        if campaign is None:
            campaign = Campaign.objects.create(code=code, name=name, channel=channel,
                                               fixed_cost=cost)
        found[channel] = campaign
    return found


def _row(entity, to_stage, at, n, channel="", campaign=None, amount=None, reopen=False):
    key = f"a{entity.pk}" if isinstance(entity, Account) else f"l{entity.pk}"
    data = {"to_stage": selectors_stage(to_stage), "from_stage": None, "occurred_at": at,
            "channel": channel, "campaign": campaign, "reopen": reopen,
            "amount": Decimal(amount).quantize(Decimal("0.01")) if amount is not None else None,
            "external_id": f"demo-{key}-{n}"}
    data["account" if isinstance(entity, Account) else "lead"] = entity
    return data


_STAGES = {}


def selectors_stage(slug):
    return _STAGES[slug]


def _replace_automatic_entries():
    """The tiers demo (run just before) tiers accounts, and each one entered `target` now
    through the automatic move. Demo history replaces that lone automatic entry; accounts
    with any other history are left alone."""
    lone = (StageTransition.objects.filter(account__isnull=False)
            .values("account_id").annotate(n=Count("id"), recorded=Count("recorded_by"),
                                           external=Count("external_id"))
            .filter(n=1, recorded=0, external=0).values_list("account_id", flat=True))
    lone = list(lone)
    StageTransition.objects.filter(account_id__in=lone).delete()
    AccountFunnel.objects.filter(account_id__in=lone).delete()


def _account_journeys(rng, clock, now, campaigns):
    pipeline = _read("sales_pipeline.csv")
    by_account = defaultdict(list)
    for row in pipeline:
        if row["account"] and row["engage_date"]:
            by_account[row["account"]].append(row)
    _replace_automatic_entries()
    taken = set(AccountFunnel.objects.filter(stage__isnull=False).values_list("account_id",
                                                                               flat=True))
    accounts = [a for a in Account.objects.order_by("pk") if a.pk not in taken]
    entry = [("outbound", 0.6), ("events", 0.25), ("partners", 0.15)]
    rows = []
    for account in accounts:
        channel = rng.choices([c for c, _ in entry], [w for _, w in entry])[0]
        campaign = campaigns.get(channel)
        deals = sorted(by_account.get(account.name, []), key=lambda r: r["engage_date"])
        steps = []
        if deals:
            # One of its opportunities (spread over the data set's year) opens the deal.
            opening = rng.choice(deals)
            deals = [r for r in deals if r["engage_date"] >= opening["engage_date"]]
            opp = date.fromisoformat(opening["engage_date"])
            sql = opp - timedelta(days=rng.randint(3, 14))
            qualified = sql - timedelta(days=rng.randint(5, 20))
            engaged = qualified - timedelta(days=rng.randint(5, 30))
            target = engaged - timedelta(days=rng.randint(15, 60))
            value = sum(int(r["close_value"] or 0) for r in deals[:3])
            steps = [("target", target, None), ("engaged", engaged, None)]
            if rng.random() > 0.2:  # a fifth go straight from engaged to SQL
                steps.append(("qualified", qualified, None))
            steps += [("sql", sql, None), ("opportunity", opp, value)]
            wins = sorted((r for r in deals if r["deal_stage"] == "Won"),
                          key=lambda r: r["close_date"])
            losses = sorted((r for r in deals if r["deal_stage"] == "Lost"),
                            key=lambda r: r["close_date"])
            if wins:
                first = date.fromisoformat(wins[0]["close_date"])
                revenue = sum(int(r["close_value"] or 0) for r in wins
                              if date.fromisoformat(r["close_date"]) < first + timedelta(90))
                steps.append(("won", max(first, opp), revenue))
            elif losses:
                steps.append(("lost", max(date.fromisoformat(losses[0]["close_date"]), opp),
                              None))
        else:
            target = DATA_END - timedelta(days=rng.randint(20, 420))
            fate = rng.random()
            steps = [("target", target, None)]
            day = target
            for stage, p in (("engaged", 0.45), ("qualified", 0.55), ("sql", 0.6),
                             ("opportunity", 0.5), ("won", 0.45)):
                if fate > p:
                    if rng.random() < 0.4 and stage != "engaged":
                        steps.append(("lost", day + timedelta(days=rng.randint(5, 30)),
                                      None))
                    break
                day += timedelta(days=rng.randint(7, 45))
                amount = rng.choice([8, 15, 25, 40, 60]) * 1000 if stage in (
                    "opportunity", "won") else None
                steps.append((stage, day, amount))
                fate = rng.random()
        n = 0
        for stage, day, amount in steps:
            at = clock.at(day, rng)
            if at > now:
                break
            rows.append(_row(account, stage, at, n,
                             channel=channel if n == 0 else "",
                             campaign=campaign if n == 0 or stage in ("opportunity", "won")
                             else None, amount=amount))
            n += 1
    return rows


def _leads(rng, clock, now, campaigns):
    domains = list(Account.objects.values_list("domain", flat=True)[:120])
    won_values = [int(r["close_value"]) for r in _read("sales_pipeline.csv")
                  if r["deal_stage"] == "Won" and r["close_value"]]
    channels = list(LEAD_CHANNELS)
    lead_rows, plans = [], []
    for i in range(LEAD_COUNT):
        channel = rng.choices(channels, [LEAD_CHANNELS[c][0] for c in channels])[0]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        domain = rng.choice(domains) if domains and rng.random() < 0.25 else rng.choice(
            FREE_DOMAINS)
        created = clock.at(DATA_END - timedelta(days=rng.randint(10, 420)), rng)
        email = f"{first}.{last}.{i}@{domain}"
        lead_rows.append((i, {"email": email, "first_name": first.title(),
                              "last_name": last.title(), "company": domain.split(".")[0],
                              "channel": channel, "campaign": campaigns.get(channel),
                              "created_at": created, "external_id": f"demo-lead-{i}"}))
        _, p_mql, p_sql = LEAD_CHANNELS[channel]
        steps, day = [], created
        for stage, p in (("mql", p_mql), ("sql", p_sql), ("opportunity", 0.55),
                         ("won", 0.3)):
            if rng.random() > p:
                if stage != "mql" and rng.random() < 0.5:
                    steps.append(("lost", day + timedelta(days=rng.randint(5, 40)), None))
                break
            day += timedelta(days=rng.randint(2, 30), hours=rng.randint(0, 20))
            amount = rng.choice(won_values) if stage in ("opportunity", "won") else None
            steps.append((stage, day, amount))
        plans.append((email, channel, steps))
    return lead_rows, plans


@transaction.atomic
def load(stdout=None):
    if StageTransition.objects.filter(external_id__startswith="demo-").exists():
        if stdout:
            stdout.write("funnel demo data already loaded; nothing to do.")
        return
    _STAGES.update(selectors.stage_map())
    rng = random.Random(2026)
    now = timezone.now()
    clock = _Clock(timezone.localdate())
    campaigns = _campaigns()

    rows = _account_journeys(rng, clock, now, campaigns)
    lead_rows, plans = _leads(rng, clock, now, campaigns)
    created_leads = services.lead_bulk_upsert(rows=lead_rows)[0]
    leads = {lead.email: lead for lead in Lead.objects.filter(
        email__in=[email for email, _, _ in plans])}
    for email, channel, steps in plans:
        lead = leads[email]
        for n, (stage, at, amount) in enumerate(steps, start=1):
            if at > now:
                break
            rows.append(_row(lead, stage, at, n, channel=channel,
                             campaign=campaigns.get(channel), amount=amount))
    batch = services.transitions_apply(rows=list(enumerate(rows)), user=None)

    today = timezone.localdate()
    for back in range(6):
        month = (today.replace(day=1) - timedelta(days=31 * back)).replace(day=1)
        for channel, amount in (("outbound", 150_000), ("events", 90_000),
                                ("website", 60_000), ("partners", 40_000),
                                ("syndication", 25_000), ("paid_media", 30_000)):
            PipelineQuota.objects.get_or_create(month=month, channel=channel,
                                                defaults={"amount": amount})
    if stdout:
        stdout.write(f"{created_leads} leads, {batch.created} stage transitions "
                     f"({len(batch.errors)} refused), {len(campaigns)} campaigns.")
