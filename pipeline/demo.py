"""Demo deals: all 8,800 opportunities of the public "CRM Sales Opportunities" data set
(tiers/demo_data/sales_pipeline.csv), loaded through the bulk upsert the CRM sync uses
(`abmcrm.core.ingest.bulk_ingest`, kind `opportunities`), owned by the data set's 35 sales
agents (users with the Sales rep role, as the tiers demo creates them).

Each deal keeps its account, owner, product, amount and dates; what the funnel demo made of
its account decides the rest (funnel/demo.py tells the story): whether it was won or lost
(`funnel.demo.deal_outcomes`: nothing before the deal that won its account, a lost account's
deals lost), its channel and campaign (the account's way into the funnel) and, for an account
that came in through a lead, that lead. The data set's deals without an account go to the
generated accounts whose journey reached an opportunity (`funnel.demo.accountless_deals`),
and its `GTXPro` is matched to the product list's `GTX Pro`. The data set's open stages are
Prospecting and Engaging: Engaging deals are spread over qualification, proposal and
negotiation by their id (the data has no finer stage), open deals get an expected close date
in the coming months, and deals without a close value their product's list price. Dates are
shifted so that the data set's last month ends a week ago, as the funnel demo does.

Idempotent: a second run sends the same rows with the same dates (the shift is read back from
a stored deal) and the bulk upsert answers them all unchanged."""

import csv
import zlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Q
from django.utils import timezone

from abmcrm.core import ingest, roles
from funnel import demo as funnel_demo
from funnel.models import AccountFunnel, Lead, StageTransition
from tiers import demo as tiers_demo
from tiers.demo import _username
from tiers.models import Account, Contact

from .models import Opportunity
from .services import deal_touches

DATA = Path(__file__).resolve().parent.parent / "tiers" / "demo_data"
DATA_END = date(2017, 12, 31)
BATCH = 2_000
ENGAGING = ["qualification", "proposal", "negotiation"]
COMMITTEE_ROLES = ("decision_maker", "champion")


def _read(name):
    with open(DATA / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _key(name):
    """Product names compared without case or spaces: `GTXPro` is `GTX Pro`."""
    return "".join(name.split()).lower()


def _hash(text):
    return zlib.crc32(text.encode())


def _agents():
    """The data set's sales agents as users with the Sales rep role (the tiers demo creates
    them; created here too if it did not run)."""
    User = get_user_model()
    group = Group.objects.get(name=roles.SALES_REP)
    agents = {}
    for row in _read("sales_teams.csv"):
        first, _, last = row["sales_agent"].partition(" ")
        username = _username(row["sales_agent"])
        user, created = User.objects.get_or_create(username=username, defaults={
            "first_name": first, "last_name": last, "email": f"{username}@example.com"})
        if created:
            user.set_unusable_password()
            user.save()
        user.groups.add(group)
        agents[row["sales_agent"]] = user
    return agents


def _shift(rows):
    """Days added to the data set's dates: the stored one if the demo deals exist (so a
    rerun sends the same dates), else the data set's end moved to a week ago."""
    engaged = {row["opportunity_id"]: row["engage_date"] for row in rows if row["engage_date"]}
    stored = (Opportunity.objects.filter(external_id__in=list(engaged))
              .order_by("id").values_list("external_id", "opened_at").first())
    if stored is not None:
        return stored[1].date() - date.fromisoformat(engaged[stored[0]])
    return (timezone.localdate() - timedelta(days=7)) - DATA_END


def _at(day, shift, hour):
    moved = day + shift
    return datetime(moved.year, moved.month, moved.day, hour, tzinfo=UTC)


class _Story:
    """What the funnel demo made of each account, read back from the funnel: its outcome,
    its way in (channel, campaign, lead) and the generated accounts given the deals without
    an account."""

    def __init__(self, rows, accounts):
        self.deals = funnel_demo.account_deals(rows)
        states = {f.account_id: f for f in AccountFunnel.objects.filter(
            account__in=list(accounts.values())).select_related("stage", "entry_campaign")}
        leads = {lead.account_id: lead for lead in Lead.objects.filter(
            external_id__startswith="demo-lead-", account__in=list(accounts.values()))}
        # The outcome the funnel demo recorded (not the account's stage now, which the deals'
        # own moves may have changed since).
        ends = dict(StageTransition.objects.filter(
            external_id__startswith="demo-a", account__in=list(accounts.values()),
            ).filter(Q(to_stage__is_won=True) | Q(to_stage__is_lost=True)).values_list(
                "account_id", "to_stage__is_won"))
        self.way_in, self.outcomes = {}, {}
        for name, account in accounts.items():
            state = states.get(account.pk)
            won = ends.get(account.pk)
            lead = leads.get(account.pk)
            if lead is not None:
                self.way_in[account.pk] = (lead.channel, lead.campaign_id, lead.email)
            elif state is not None:
                self.way_in[account.pk] = (state.entry_channel, state.entry_campaign_id, None)
            history, story = self.deals.get(name, ([], []))
            self.outcomes.update(funnel_demo.deal_outcomes(name, history, story, won))
        self.story_deals = {row["opportunity_id"] for _, story in self.deals.values()
                            for row in story}
        reached = StageTransition.objects.filter(
            external_id__startswith="demo-a", to_stage__slug="opportunity",
            account__external_id__startswith="GEN-").values("account_id")
        reaching = Account.objects.filter(pk__in=reached).order_by("external_id", "pk")
        self.loose = funnel_demo.accountless_deals(rows, list(reaching))


def _items(rows, shift, accounts, prices, committees):
    items, renamed = [], 0
    end = DATA_END + shift
    story = _Story(rows, accounts)
    for row in rows:
        account = accounts.get(row["account"]) or story.loose.get(row["opportunity_id"])
        if account is None:
            continue
        product = prices.get(_key(row["product"]))
        name = product[0] if product else row["product"]
        if product and name != row["product"]:
            renamed += 1
        h = _hash(row["opportunity_id"])
        item = {"external_id": row["opportunity_id"], "account": account.domain,
                "owner": _username(row["sales_agent"]), "product": name,
                "name": f"{account.name} – {name}"}
        opened = _at(funnel_demo.deal_opened_day(row), shift, 9 + h % 8)
        item["opened_at"] = opened.isoformat()
        stage = story.outcomes.get(row["opportunity_id"])
        if stage is not None:
            closed = _at(date.fromisoformat(row["close_date"]), shift, 17)
            item["closed_at"] = max(closed, opened).isoformat()
            value = tiers_demo.deal_value(row, {k: v[1] for k, v in prices.items()})
            item["amount"] = str(value)
        else:
            stage = ("prospecting" if row["deal_stage"] == "Prospecting" else ENGAGING[h % 3])
            item["amount"] = str(product[1]) if product else None
            item["close_date"] = (end + timedelta(days=7 + h % 180)).isoformat()
        item["stage"] = stage
        if row["opportunity_id"] in story.story_deals or row["opportunity_id"] in story.loose:
            channel, campaign, lead = story.way_in.get(account.pk, ("", None, None))
            item.update(channel=channel or "", campaign=str(campaign) if campaign else None,
                        lead=lead)
        committee = committees.get(account.pk)
        if committee:
            item["contacts"] = committee
        items.append(item)
    return items, len(story.loose), renamed


def load(stdout=None):
    rows = _read("sales_pipeline.csv")
    _agents()
    prices = {_key(row["product"]): (row["product"], Decimal(row["sales_price"]))
              for row in _read("products.csv")}
    names = {row["account"] for row in rows if row["account"]}
    accounts = {a.name: a for a in Account.objects.filter(name__in=names)}
    committees = {}
    for contact in Contact.objects.filter(account__in=accounts.values(),
                                          buying_role__in=COMMITTEE_ROLES).order_by("id"):
        members = committees.setdefault(contact.account_id, [])
        if len(members) < 2 and contact.buying_role not in {m["role"] for m in members}:
            members.append({"contact": contact.email, "role": contact.buying_role})
    shift = _shift(rows)
    items, linked, renamed = _items(rows, shift, accounts, prices, committees)
    missing = len(names - set(accounts))
    totals = {"created": 0, "updated": 0, "unchanged": 0, "errors": 0}
    for start in range(0, len(items), BATCH):
        result = ingest.bulk_ingest(kind="opportunities", items=items[start:start + BATCH],
                                    user=None)
        totals["created"] += result.created
        totals["updated"] += result.updated
        totals["unchanged"] += result.unchanged
        totals["errors"] += len(result.errors)
        if result.errors and stdout:
            for error in result.errors[:5]:
                stdout.write(f"  refused {items[start + error['index']]['external_id']}: "
                             f"{ingest.errors_text(error['errors'])}")
    if stdout:
        stdout.write(
            f"{len(rows):,} opportunities in the data set: {totals['created']:,} created, "
            f"{totals['updated']:,} updated, {totals['unchanged']:,} unchanged, "
            f"{totals['errors']:,} refused; {linked:,} rows without an account given to the "
            f"generated accounts with an opportunity; "
            f"{renamed:,} rows' product matched to the product list (GTXPro → GTX Pro)"
            + (f"; {missing} accounts not found (run the tiers demo first)" if missing else "")
            + ".")
    # The demos below shift dates and statuses behind the services: the attribution's deal
    # touches are computed once everything is in place.
    rows = deal_touches.deal_touches_rebuild()
    if stdout:
        stdout.write(f"{rows:,} deal touches computed for attribution.")
    return totals
