"""Demo data: the public "CRM Sales Opportunities" accounts and sales team (see
demo_data/README.md), topped up with generated accounts to about 200, contacts with buying
roles, owned by the data set's sales team and the demo rep (the demo users come from
`abmcrm.core.demo`). Idempotent: a second run changes nothing."""

import csv
import random
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.text import slugify

from abmcrm.core import roles
from abmcrm.core.demo import demo_users

from . import services
from .models import Account, Contact

DATA = Path(__file__).resolve().parent / "demo_data"

REGIONS = {
    "United States": "North America", "Panama": "Latin America", "Brazil": "Latin America",
    "Mexico": "Latin America", "Canada": "North America", "Germany": "EMEA",
    "United Kingdom": "EMEA", "France": "EMEA", "Norway": "EMEA", "Poland": "EMEA",
    "Romania": "EMEA", "Italy": "EMEA", "Belgium": "EMEA", "Kenya": "EMEA", "Jordan": "EMEA",
    "China": "APAC", "Japan": "APAC", "Korea": "APAC", "Philippines": "APAC",
    "Australia": "APAC", "Singapore": "APAC", "India": "APAC", "Indonesia": "APAC",
}
INDUSTRIES = ["software", "technology", "medical", "retail", "finance", "marketing",
              "telecommunications", "entertainment", "services", "employment"]
EXTRA_COUNTRIES = ["United States"] * 6 + ["Germany", "United Kingdom", "France", "Canada",
                                            "Japan", "Korea", "Singapore", "Brazil", "India",
                                            "Australia", "Indonesia", "Mexico"]
TECHNOLOGIES = ["Salesforce", "HubSpot", "Marketo", "SAP ERP", "NetSuite", "Oracle ERP",
                "Snowflake", "Zendesk", "Workday", "Slack", "AWS", "Segment"]
NAME_PARTS = (["North", "Blue", "Bright", "Iron", "Silver", "Cedar", "Nova", "Quant", "Vertex",
               "Harbor", "Summit", "Pine", "Lumen", "Orbit", "Atlas", "Delta", "Kite", "Ember"],
              ["works", "labs", "soft", "data", "logic", "med", "retail", "bank", "media",
               "health", "scale", "grid", "cloud", "systems", "group", "analytics"])
FIRST = ["Ana", "Ben", "Chloe", "Dmitri", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas",
         "Kaya", "Luis", "Mei", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara"]
LAST = ["Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito",
        "Jensen", "Kim", "Lopez", "Moreau", "Novak", "Okafor", "Patel", "Rossi", "Silva"]
TITLES = [("VP Marketing", "decision_maker"), ("CMO", "decision_maker"),
          ("Head of Demand Generation", "champion"), ("Marketing Operations Manager", "user"),
          ("CFO", "blocker"), ("IT Director", "influencer"), ("Sales Director", "influencer"),
          ("Marketing Analyst", "user"), ("Procurement Lead", "other")]


# The public data set's own spelling mistakes, corrected for the people reading the demo.
CORRECTIONS = {"technolgy": "technology", "Philipines": "Philippines"}


STREETS = ["Market Street", "Harbour Road", "Station Square", "Oak Avenue", "Mill Lane",
           "Park Boulevard"]
CITIES = {"United States": ["Austin", "Chicago", "Denver", "Boston"],
          "Germany": ["Berlin", "Munich"], "United Kingdom": ["London", "Leeds"],
          "France": ["Paris", "Lyon"], "Japan": ["Tokyo", "Osaka"], "Korea": ["Seoul"]}


def _read(name):
    with open(DATA / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _prices():
    """{product name without case or spaces: list price} (`GTXPro` is `GTX Pro`)."""
    return {"".join(row["product"].split()).lower(): Decimal(row["sales_price"])
            for row in _read("products.csv")}


def deal_value(row, prices):
    """What a data-set deal is worth: its close value when won, else its product's price."""
    if row["deal_stage"] == "Won" and row["close_value"]:
        return Decimal(row["close_value"])
    return prices.get("".join(row["product"].split()).lower(), Decimal(0))


# The estimated ACV of a data-set account: the value of the deals it closed in the data set's
# last twelve months at this win rate (the demo's deals win about one in three, see
# funnel/demo.py), so that it grows with both the number and the size of its deals.
ACV_WIN_RATE = Decimal("0.4")
ACV_FROM = "2017-01-01"


def expected_acv(pipeline):
    """{account name: estimated ACV} from the data set's deals."""
    prices, total = _prices(), defaultdict(Decimal)
    for row in pipeline:
        if row["account"] and row["close_date"] >= ACV_FROM:
            total[row["account"]] += deal_value(row, prices)
    return {name: (value * ACV_WIN_RATE).quantize(Decimal(100)) for name, value in total.items()}


def typical_deals(pipeline=None):
    """{account name: its mean deal value in the data set}: who has the largest deals."""
    prices, values = _prices(), defaultdict(list)
    for row in pipeline if pipeline is not None else _read("sales_pipeline.csv"):
        if row["account"] and row["close_date"]:
            values[row["account"]].append(deal_value(row, prices))
    return {name: sum(v) / len(v) for name, v in values.items()}


def renewal_cycles(pipeline):
    """{account name: renewal cycles}: the data set covers about a year of quarterly
    subscriptions; each further quarter with a won deal is a renewal cycle completed."""
    quarters = defaultdict(set)
    for row in pipeline:
        if row["account"] and row["deal_stage"] == "Won":
            close = row["close_date"]
            quarters[row["account"]].add((close[:4], (int(close[5:7]) - 1) // 3))
    return {name: len(q) - 1 for name, q in quarters.items()}


def _username(full_name):
    return slugify(full_name).replace("-", ".")


@transaction.atomic
def load(stdout=None):
    rng = random.Random(2026)
    User = get_user_model()

    users = demo_users()

    # The data set's sales agents become reps who own the accounts they sold to most.
    rep_group = Group.objects.get(name=roles.SALES_REP)
    agents = {}
    for row in _read("sales_teams.csv"):
        first, _, last = row["sales_agent"].partition(" ")
        agent, created = User.objects.get_or_create(
            username=_username(row["sales_agent"]),
            defaults={"first_name": first, "last_name": last,
                      "email": f"{_username(row['sales_agent'])}@example.com"},
        )
        if created:
            agent.set_unusable_password()
            agent.save()
        agent.groups.add(rep_group)
        agents[row["sales_agent"]] = agent

    pipeline = _read("sales_pipeline.csv")
    agent_count = defaultdict(Counter)
    for row in pipeline:
        if row["account"]:
            agent_count[row["account"]][row["sales_agent"]] += 1
    acv, renewals = expected_acv(pipeline), renewal_cycles(pipeline)

    items = []
    for index, row in enumerate(_read("accounts.csv")):
        name = row["account"]
        top_agent = agent_count[name].most_common(1)
        owner = agents.get(top_agent[0][0]) if top_agent else None
        if index % 3 == 0:  # the demo rep owns a third of the book
            owner = users["rep"]
        items.append({
            "name": name, "domain": f"{slugify(name)}.com", "external_id": f"MAVEN-{index + 1:03d}",
            "industry": CORRECTIONS.get(row["sector"], row["sector"]),
            "country": CORRECTIONS.get(row["office_location"], row["office_location"]),
            "region": REGIONS.get(CORRECTIONS.get(row["office_location"],
                                                  row["office_location"]), "Other"),
            "employees": int(row["employees"]),
            "annual_revenue": Decimal(row["revenue"]) * 1_000_000,
            "is_customer": name in renewals, "renewal_count": renewals.get(name, 0),
            "estimated_acv": acv.get(name), "owner": owner,
        })
    seen = {item["name"] for item in items}
    while len(items) < 200:
        name = f"{rng.choice(NAME_PARTS[0])}{rng.choice(NAME_PARTS[1])}"
        if name in seen:
            name = f"{name} {rng.choice(['Inc', 'GmbH', 'Ltd', 'Co'])}"
        if name in seen:
            continue
        seen.add(name)
        country = rng.choice(EXTRA_COUNTRIES)
        employees = int(rng.lognormvariate(6.5, 1.3))
        items.append({
            "name": name, "domain": f"{slugify(name)}.io",
            "external_id": f"GEN-{len(items) + 1:03d}", "industry": rng.choice(INDUSTRIES),
            "country": country, "region": REGIONS.get(country, "Other"), "employees": employees,
            "annual_revenue": Decimal(employees * rng.randint(80, 400) * 1000),
            "is_customer": False, "renewal_count": 0,
            "estimated_acv": Decimal(rng.choice([8, 15, 25, 40, 60, 90, 150]) * 1000),
            "owner": users["rep"] if len(items) % 3 == 0 else rng.choice(list(agents.values())),
        })
    for item in items:
        item["technologies"] = rng.sample(TECHNOLOGIES, rng.randint(1, 4))
        item["funding_stage"] = rng.choice(Account.FundingStage.values)
        item["maturity"] = rng.choice(Account.Maturity.values)
        item["customer_count"] = rng.choice([50, 200, 1_000, 5_000, 20_000, 100_000])
    created, updated, unchanged, errors = services.account_bulk_upsert(
        rows=list(enumerate(items))
    )
    assert not errors, errors

    accounts = {a.external_id: a for a in Account.objects.filter(
        external_id__in=[item["external_id"] for item in items])}
    contact_rows = []
    for item in items:
        account = accounts[item["external_id"]]
        for _ in range(rng.randint(2, 5)):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            title, role = rng.choice(TITLES)
            contact_rows.append({
                "account": account, "first_name": first, "last_name": last, "title": title,
                "buying_role": role, "email": f"{first}.{last}@{account.domain}".lower(),
                "address_line1": f"{rng.randint(1, 999)} {rng.choice(STREETS)}",
                "city": rng.choice(CITIES.get(account.country, ["Springfield"])),
                "postal_code": f"{rng.randint(10000, 99999)}", "country": account.country,
            })
    contacts = services.contact_bulk_upsert(rows=list(enumerate(contact_rows)))
    if stdout:
        stdout.write(
            f"Accounts: {created} created, {updated} updated, {unchanged} unchanged "
            f"({Account.objects.count()} in all); contacts: {contacts[0]} created "
            f"({Contact.objects.count()} in all)."
        )
    return users
