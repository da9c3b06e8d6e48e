"""Bulk/CSV ingesters for the tiers app: accounts, contacts, intent signals and engagement
events."""

from abmcrm.core import roles
from abmcrm.core.ingest import Ingester

from . import selectors, services
from .serializers import (
    AccountRowSerializer,
    ContactRowSerializer,
    EngagementEventRowSerializer,
    IntentSignalRowSerializer,
)


class AccountIngester(Ingester):
    kind = "accounts"
    label = "Accounts"
    serializer_class = AccountRowSerializer
    permission = "tiers.add_account"
    columns = (
        "name", "domain", "external_id", "industry", "country", "region", "employees",
        "annual_revenue", "funding_stage", "technologies", "customer_count", "maturity",
        "estimated_acv", "owner", "is_customer", "renewal_count",
    )
    required_columns = ("name", "domain")
    list_columns = ("technologies",)

    def unique_keys(self, data):
        return [("domain", data["domain"]), ("external_id", data.get("external_id"))]

    def prefetch(self, items):
        owners = [item.get("owner") for item in items if isinstance(item, dict)]
        return {"users_by_ref": selectors.users_by_ref(owners)}

    def write(self, rows, *, user):
        return services.account_bulk_upsert(rows=rows)


class ContactIngester(Ingester):
    kind = "contacts"
    label = "Contacts"
    serializer_class = ContactRowSerializer
    permission = "tiers.add_contact"
    columns = ("account", "first_name", "last_name", "email", "title", "buying_role",
               "job_function", "seniority", "address_line1", "address_line2", "city",
               "postal_code", "state", "country")
    required_columns = ("account", "email")

    def unique_keys(self, data):
        return [("email", f"{data['email']} at {data['account'].domain}")]

    def prefetch(self, items):
        refs = [item.get("account") for item in items if isinstance(item, dict)]
        return {"accounts_by_ref": selectors.accounts_by_ref(refs, only=("id", "domain",
                                                                        "external_id", "owner"))}

    def write(self, rows, *, user):
        # Reps add and change contacts of the accounts they own only.
        refused = []
        if user is not None and not roles.is_abm_admin(user):
            refused = [(pos, {"account": ["You may only add contacts to accounts you own."]})
                       for pos, data in rows if data["account"].owner_id != user.pk]
            rows = [(pos, data) for pos, data in rows if data["account"].owner_id == user.pk]
        created, updated, unchanged, errors = services.contact_bulk_upsert(rows=rows)
        return created, updated, unchanged, refused + errors


class IntentSignalIngester(Ingester):
    kind = "intent_signals"
    label = "intent signals"
    serializer_class = IntentSignalRowSerializer
    permission = "tiers.add_intentsignal"
    columns = ("account", "topic", "score", "source", "week")
    required_columns = columns

    def prefetch(self, items):
        refs = [item.get("account") for item in items if isinstance(item, dict)]
        return {"accounts_by_ref": selectors.accounts_by_ref(
            refs, only=("id", "domain", "external_id"))}

    def write(self, rows, *, user):
        return services.intent_signal_bulk_upsert(rows=rows)


class EngagementEventIngester(Ingester):
    kind = "engagement_events"
    label = "engagement events"
    serializer_class = EngagementEventRowSerializer
    permission = "tiers.add_engagementevent"
    columns = ("account", "contact", "kind", "occurred_at", "source", "external_id")
    required_columns = ("account", "kind", "occurred_at")

    def prefetch(self, items):
        items = [item for item in items if isinstance(item, dict)]
        return {
            "accounts_by_ref": selectors.accounts_by_ref(
                [item.get("account") for item in items], only=("id", "domain", "external_id")),
            "contacts_by_ref": selectors.contacts_by_ref(
                [item.get("contact") for item in items]),
            "kinds": selectors.engagement_kinds_by_key(),
        }

    def write(self, rows, *, user):
        return services.engagement_event_bulk_insert(rows=rows)
