"""Bulk/CSV ingesters for the tiers app: accounts and contacts."""

from . import selectors, services
from .ingest import Ingester
from .serializers import AccountRowSerializer, ContactRowSerializer


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
    columns = ("account", "first_name", "last_name", "email", "title", "buying_role")
    required_columns = ("account", "email")

    def unique_keys(self, data):
        return [("email", f"{data['email']} at {data['account'].domain}")]

    def prefetch(self, items):
        refs = [item.get("account") for item in items if isinstance(item, dict)]
        return {"accounts_by_ref": selectors.accounts_by_ref(refs, only=("id", "domain",
                                                                        "external_id", "owner"))}

    def write(self, rows, *, user):
        return services.contact_bulk_upsert(rows=rows)
