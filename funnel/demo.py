"""Demo funnel history, derived from the public "CRM Sales Opportunities" data set
(tiers/demo_data/sales_pipeline.csv) so that the funnel and the deals the pipeline demo loads
tell one story, the one docs/guide/demo.md describes:

- The target accounts are the tiered ones (ABM). A data-set account's journey reaches the
  opportunity stage when its first deal of the demo's story (opened from STORY_START on)
  opens; whether it is then won depends on its tier (tier 1 most often). The data-set
  accounts nobody targets (untiered) come in through a lead of their own (demand
  generation), whose channel decides how often it is won (syndication least).
- Which of its deals an account wins follows from that (`deal_outcomes`, which the pipeline
  demo uses too): nothing before the deal that won it, then one in two; a lost account's
  closed deals are lost. Deals opened before STORY_START win one in three.
- Generated accounts (no deals in the data set) travel by their tier's odds; those that reach
  an opportunity take the data set's deals that have no account (`accountless_deals`).
- The other leads are generated, with channels converting differently.

Accounts are picked for an outcome by a hash of their name, in the proportions below within
each tier or channel, so the relations hold on this data set by construction of its history,
not by any figure written here. All dates are shifted so the data set's last month ends a
week ago. Idempotent: once demo transitions exist (external ids `demo-…`), nothing is added."""

import csv
import random
import zlib
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
# Deals opened before this are the accounts' history before the demo's programmes.
STORY_START = "2017-01-15"

CAMPAIGNS = [
    # code, name, channel, fixed cost
    ("funnel-abm-plays", "ABM outbound plays", "outbound", 180_000),
    ("funnel-summit", "Customer summit", "events", 150_000),
    ("funnel-partners", "Partner referrals", "partners", 60_000),
    ("funnel-pricing-page", "Pricing page push", "website", 90_000),
    ("funnel-syndication", "Content syndication", "syndication", 120_000),
    ("funnel-paid-social", "Paid social", "paid_media", 100_000),
]
# How target accounts enter the ABM funnel (share of accounts).
ABM_CHANNELS = {"outbound": 0.55, "events": 0.3, "partners": 0.15}
# Share of a tier's data-set accounts whose opportunity is won.
TIER_WIN = {1: 0.6, 2: 0.4, 3: 0.3}
# Generated target accounts, by tier: P(engaged), P(opportunity | engaged).
TIER_ODDS = {1: (0.9, 0.75), 2: (0.6, 0.3), 3: (0.35, 0.25)}
# Demand-gen channels: share of leads, P(inquiry→MQL), P(MQL→SQL), P(SQL→opportunity),
# P(opportunity→won), and the share of the untargeted data-set accounts' wins.
LEAD_CHANNELS = {
    "website": (0.35, 0.35, 0.35, 0.45, 0.15, 0.4),
    "events": (0.15, 0.45, 0.4, 0.45, 0.15, 0.45),
    "syndication": (0.25, 0.3, 0.08, 0.3, 0.08, 0.1),
    "paid_media": (0.2, 0.25, 0.2, 0.4, 0.12, 0.25),
    "partners": (0.05, 0.4, 0.45, 0.45, 0.15, 0.35),
}
# Of a won account's deals after the one that won it, the share won (in hundredths); of the
# deals opened before STORY_START, the share won.
EXPAND_WIN = 60
HISTORY_WIN = 30
FIRST = ["ana", "ben", "chloe", "dmitri", "elif", "femi", "grace", "hiro", "ines", "jonas",
         "kaya", "luis", "mei", "nora", "omar", "priya", "quinn", "rosa", "sven", "tara"]
LAST = ["adams", "baker", "chen", "diaz", "evans", "fischer", "garcia", "haddad", "ito",
        "jensen", "kim", "lopez", "moreau", "novak", "okafor", "patel", "rossi", "silva"]
FREE_DOMAINS = ["mailbox.example.org", "inbox.example.net", "corpmail.example.com"]
LEAD_COUNT = 2300


def _read(name):
    with open(DATA / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _hash(text):
    return zlib.crc32(text.encode())


# The story of the data set's deals, shared with the pipeline demo ----------------------------

def deal_opened_day(row):
    """The day a data-set deal opened: its engage date; a prospecting deal (no dates) was
    found in the data set's last weeks."""
    if row["engage_date"]:
        return date.fromisoformat(row["engage_date"])
    return DATA_END - timedelta(days=_hash(row["opportunity_id"]) % 45)


def account_deals(rows):
    """{account name: (deals opened before STORY_START, deals opened since — the first one
    opened the account's opportunity)} of the data set's deals with an account."""
    out = defaultdict(lambda: ([], []))
    for row in sorted(rows, key=lambda r: (deal_opened_day(r), r["opportunity_id"])):
        if row["account"]:
            history, story = out[row["account"]]
            since = not row["engage_date"] or row["engage_date"] >= STORY_START
            (story if since else history).append(row)
    return out


def _closed(rows):
    return sorted((r for r in rows if r["deal_stage"] in ("Won", "Lost")),
                  key=lambda r: (r["close_date"], r["opportunity_id"]))


def deciding_deal(name, story):
    """The closed deal of the story that won or lost the account (the first, second or third
    to close, by the account's name), or None."""
    closed = _closed(story)
    return closed[min(_hash(name) % 3, len(closed) - 1)] if closed else None


def deal_outcomes(name, history, story, won):
    """{opportunity id: "won" | "lost"} of an account's closed deals; `won`: whether the
    account's opportunity was won (True), lost (False) or neither (None)."""
    out = {}
    for row in _closed(history):
        out[row["opportunity_id"]] = ("won" if _hash("w" + row["opportunity_id"]) % 100
                                      < HISTORY_WIN else "lost")
    deciding = deciding_deal(name, story)
    after = False
    for row in _closed(story):
        if won is None:
            won_it = _hash("w" + row["opportunity_id"]) % 100 < HISTORY_WIN
        elif not won:
            won_it = False
        elif row is deciding or (deciding and row["opportunity_id"] == deciding[
                "opportunity_id"]):
            won_it, after = True, True
        else:
            won_it = after and _hash("w" + row["opportunity_id"]) % 100 < EXPAND_WIN
        out[row["opportunity_id"]] = "won" if won_it else "lost"
    return out


def accountless_deals(rows, accounts):
    """{opportunity id: account} for the data set's deals without an account, shared out in
    runs of consecutive opening days over `accounts` (the generated accounts whose journey
    reached an opportunity, in the order given)."""
    loose = sorted((r for r in rows if not r["account"]),
                   key=lambda r: (deal_opened_day(r), r["opportunity_id"]))
    if not accounts:
        return {}
    size = -(-len(loose) // len(accounts))
    return {row["opportunity_id"]: accounts[i // size] for i, row in enumerate(loose)}


def _pick(items, share, salt):
    """The `share` of `items` (rounded) that come first by a hash of their name."""
    ranked = sorted(items, key=lambda a: _hash(salt + a.name))
    return set(a.pk for a in ranked[:round(len(ranked) * share)])


def _split(items, shares, salt):
    """{item pk: key}: `items` dealt into the keys of `shares` in those proportions."""
    ranked = sorted(items, key=lambda a: _hash(salt + a.name))
    out, start, total = {}, 0, sum(shares.values())
    keys = list(shares)
    for n, key in enumerate(keys):
        end = len(ranked) if n + 1 == len(keys) else start + round(
            len(ranked) * shares[key] / total)
        for item in ranked[start:end]:
            out[item.pk] = key
        start = end
    return out


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


def _value(row, prices):
    return tiers_demo.deal_value(row, prices)


def _won_revenue(outcomes, story, deciding, prices):
    """The revenue an account's win brought: its deals won in the 90 days from it."""
    first = date.fromisoformat(deciding["close_date"])
    return sum(_value(r, prices) for r in story if outcomes.get(r["opportunity_id"]) == "won"
               and date.fromisoformat(r["close_date"]) < first + timedelta(90))


def _steps_to_opportunity(rng, opened, qualified=True):
    """(stage, day) from target to SQL, placed before the opportunity opened on `opened`."""
    sql = opened - timedelta(days=rng.randint(3, 14))
    steps = [("sql", sql)]
    day = sql
    if qualified:
        day -= timedelta(days=rng.randint(5, 20))
        steps.insert(0, ("qualified", day))
    engaged = day - timedelta(days=rng.randint(5, 30))
    target = engaged - timedelta(days=rng.randint(15, 60))
    return [("target", target), ("engaged", engaged)] + steps


def _generated_journey(rng, tier, opened=None):
    """A generated target account's (stage, day, amount) steps; with `opened`, it reaches an
    opportunity that day, else it stops earlier (or is lost)."""
    if opened is not None:
        return [(stage, day, None) for stage, day in
                _steps_to_opportunity(rng, opened, rng.random() > 0.2)] + [
                    ("opportunity", opened, None)]
    p_engaged, _ = TIER_ODDS.get(tier, (0.3, 0.2))
    day = DATA_END - timedelta(days=rng.randint(20, 420))
    steps = [("target", day, None)]
    if rng.random() < p_engaged:
        for stage, p in (("engaged", 1), ("qualified", 0.7), ("sql", 0.6)):
            if rng.random() > p:
                break
            day += timedelta(days=rng.randint(7, 45))
            steps.append((stage, day, None))
        if len(steps) > 2 and rng.random() < 0.5:
            steps.append(("lost", day + timedelta(days=rng.randint(5, 30)), None))
    return steps


def _account_journeys(rng, clock, now, campaigns, accounts):
    """Transition rows of the accounts' journeys and the accounts of each side."""
    rows_all = _read("sales_pipeline.csv")
    deals = account_deals(rows_all)
    prices = tiers_demo._prices()
    _replace_automatic_entries()
    taken = set(AccountFunnel.objects.filter(stage__isnull=False).values_list("account_id",
                                                                               flat=True))
    accounts = [a for a in accounts if a.pk not in taken]
    real = [a for a in accounts if a.name in deals]
    targets = [a for a in accounts if a.tier_id is not None]
    untargeted = [a for a in real if a.tier_id is None]
    tier_of = {a.pk: a.tier.number for a in targets}
    entry = _split(targets, ABM_CHANNELS, "entry")
    lead_channel = _split(untargeted, {c: v[0] for c, v in LEAD_CHANNELS.items()}, "lead")
    winners = set()
    for number, share in TIER_WIN.items():
        winners |= _pick([a for a in real if tier_of.get(a.pk) == number], share, "win")
    for channel, values in LEAD_CHANNELS.items():
        winners |= _pick([a for a in untargeted if lead_channel[a.pk] == channel], values[5],
                         "win")

    # Generated targets: which reach an opportunity (they take the deals without account).
    made = [a for a in targets if a.name not in deals]
    reaching = [a for a in made if rng.random() < TIER_ODDS[tier_of[a.pk]][0]
                * TIER_ODDS[tier_of[a.pk]][1]]
    loose = accountless_deals(rows_all, reaching)
    first_open = {}
    for row in rows_all:
        if row["opportunity_id"] in loose:
            account = loose[row["opportunity_id"]]
            day = deal_opened_day(row)
            first_open[account.pk] = min(first_open.get(account.pk, day), day)

    rows, plans = [], []
    for account in sorted(targets + untargeted, key=lambda a: a.pk):
        targeted = account.pk in tier_of
        channel = entry.get(account.pk) or lead_channel.get(account.pk)
        campaign = campaigns.get(channel)
        if account.name in deals:
            history, story = deals[account.name]
            if not story:
                continue
            opened = deal_opened_day(story[0])
            deciding = deciding_deal(account.name, story)
            won = account.pk in winners
            outcomes = deal_outcomes(account.name, history, story, won)
            steps = []
            if targeted:
                steps = [(stage, day, None) for stage, day in
                         _steps_to_opportunity(rng, opened, rng.random() > 0.2)]
            else:
                plans.append((account, channel, opened, deciding, won,
                              _value(story[0], prices),
                              _won_revenue(outcomes, story, deciding, prices) if won and
                              deciding else None))
            steps.append(("opportunity", opened, _value(story[0], prices)))
            if deciding is not None:
                closed = max(date.fromisoformat(deciding["close_date"]), opened)
                steps.append(("won", closed, _won_revenue(outcomes, story, deciding, prices))
                             if won else ("lost", closed, None))
        else:
            steps = _generated_journey(rng, tier_of[account.pk], first_open.get(account.pk))
        n = 0
        for stage, day, amount in steps:
            at = clock.at(day, rng)
            if at > now:
                break
            rows.append(_row(account, stage, at, n, channel=channel if n == 0 else "",
                             campaign=campaign if n == 0 or stage in ("opportunity", "won")
                             else None, amount=amount))
            n += 1
    return rows, plans


def _lead_steps(rng, channel, created):
    _, p_mql, p_sql, p_opp, p_won, _ = LEAD_CHANNELS[channel]
    steps, day = [], created
    for stage, p in (("mql", p_mql), ("sql", p_sql), ("opportunity", p_opp), ("won", p_won)):
        if rng.random() > p:
            if stage != "mql" and rng.random() < 0.5:
                steps.append(("lost", day + timedelta(days=rng.randint(5, 40)), None))
            break
        day += timedelta(days=rng.randint(2, 30), hours=rng.randint(0, 20))
        steps.append((stage, day, None))
    return steps


def _leads(rng, clock, campaigns, plans):
    """The leads: one for each untargeted data-set account (its way in), then generated ones
    (at generated accounts' domains or free mail)."""
    domains = list(Account.objects.filter(external_id__startswith="GEN-")
                   .values_list("domain", flat=True)[:120])
    won_values = [int(r["close_value"]) for r in _read("sales_pipeline.csv")
                  if r["deal_stage"] == "Won" and r["close_value"]]
    channels = list(LEAD_CHANNELS)
    lead_rows, lead_plans = [], []
    for account, channel, opened, deciding, won, amount, revenue in plans:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first}.{last}@{account.domain}"
        sql = opened - timedelta(days=rng.randint(3, 14))
        mql = sql - timedelta(days=rng.randint(5, 25))
        created = mql - timedelta(days=rng.randint(3, 30))
        steps = [("mql", mql, None), ("sql", sql, None), ("opportunity", opened, amount)]
        if deciding is not None:
            closed = max(date.fromisoformat(deciding["close_date"]), opened)
            steps.append(("won", closed, revenue) if won else ("lost", closed, None))
        lead_rows.append((len(lead_rows), {
            "email": email, "first_name": first.title(), "last_name": last.title(),
            "company": account.name, "account": account, "channel": channel,
            "campaign": campaigns.get(channel), "created_at": clock.at(created, rng),
            "external_id": f"demo-lead-{account.external_id or account.pk}"}))
        lead_plans.append((email, channel, [(stage, clock.at(day, rng), value)
                                            for stage, day, value in steps]))
    for i in range(LEAD_COUNT - len(plans)):
        channel = rng.choices(channels, [LEAD_CHANNELS[c][0] for c in channels])[0]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        domain = rng.choice(domains) if domains and rng.random() < 0.25 else rng.choice(
            FREE_DOMAINS)
        created = DATA_END - timedelta(days=rng.randint(10, 420))
        email = f"{first}.{last}.{i}@{domain}"
        lead_rows.append((len(lead_rows), {
            "email": email, "first_name": first.title(), "last_name": last.title(),
            "company": domain.split(".")[0], "channel": channel,
            "campaign": campaigns.get(channel), "created_at": clock.at(created, rng),
            "external_id": f"demo-lead-{i}"}))
        steps = [(stage, clock.at(day, rng),
                  rng.choice(won_values) if stage in ("opportunity", "won") else None)
                 for stage, day, _ in _lead_steps(rng, channel, created)]
        lead_plans.append((email, channel, steps))
    return lead_rows, lead_plans


def demo_accounts():
    """The accounts the demo tells its story with (the tiers demo's), in a stable order."""
    return list(Account.objects.filter(Q(external_id__startswith="MAVEN-")
                                       | Q(external_id__startswith="GEN-"))
                .select_related("tier").order_by("external_id", "pk"))


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

    rows, plans = _account_journeys(rng, clock, now, campaigns, demo_accounts())
    lead_rows, lead_plans = _leads(rng, clock, campaigns, plans)
    created_leads = services.lead_bulk_upsert(rows=lead_rows)[0]
    leads = {lead.email: lead for lead in Lead.objects.filter(
        email__in=[email for email, _, _ in lead_plans])}
    for email, channel, steps in lead_plans:
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
