"""Bulk and CSV ingest of deals (kind `opportunities`): rows validated by one reused
serializer with every reference looked up in a few queries for the whole batch, then upserted
by `external_id` through the same writer as the single-deal endpoints."""

from abmcrm.core import ingest
from funnel import selectors as funnel_selectors
from tiers import selectors as tier_selectors

from . import selectors, services
from .serializers import OpportunityBulkRowSerializer


def _refs(items, name):
    return [item.get(name) for item in items if isinstance(item, dict)]


def _contact_refs(items):
    refs = []
    for members in _refs(items, "contacts"):
        if isinstance(members, str):
            members = members.split(";")
        for member in members if isinstance(members, list) else ():
            if isinstance(member, dict):
                refs.append(member.get("contact"))
            elif isinstance(member, str):
                refs.append(member.rpartition(":")[0] if ":" in member else member)
            else:
                refs.append(member)
    return [str(ref).strip() for ref in refs if isinstance(ref, str | int)]


def reference_context(items):
    """Every reference of the rows looked up at once (a query each kind)."""
    return {
        "accounts_by_ref": tier_selectors.accounts_by_ref(
            _refs(items, "account"), only=("id", "name", "domain", "external_id")),
        "users_by_ref": selectors.users_by_ref(_refs(items, "owner")),
        "stages_by_ref": selectors.stages_by_ref(),
        "campaigns_by_ref": funnel_selectors.campaigns_by_ref(_refs(items, "campaign")),
        "leads_by_ref": funnel_selectors.leads_by_ref(
            _refs(items, "lead"), only=("id", "email", "external_id", "account_id")),
        "contacts_by_ref": selectors.contacts_by_ref(_contact_refs(items)),
    }


class OpportunityIngester(ingest.Ingester):
    kind = "opportunities"
    label = "Opportunities"
    serializer_class = OpportunityBulkRowSerializer
    permission = "pipeline.add_opportunity"
    columns = ("external_id", "account", "name", "owner", "product", "amount", "currency",
               "stage", "opened_at", "close_date", "closed_at", "lost_reason", "campaign",
               "channel", "lead", "contacts", "reopen")
    required_columns = ("external_id", "account")
    list_columns = ("contacts",)

    def unique_keys(self, data):
        return [("external_id", data["external_id"])]

    def prefetch(self, items):
        return reference_context(items)

    def write(self, rows, *, user):
        return services.opportunity_bulk_upsert(rows=rows, by=user)
