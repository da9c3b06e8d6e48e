"""Writes of the tiers app, by sub-domain: `accounts` (accounts, contacts, bulk upserts),
`activity` (intent signals, engagement events), `recompute` (rescoring jobs), `overrides`
(tiers set by hand), `icp`, and `personas` (contacts' personas, buying committees)."""

from .accounts import (
    account_bulk_upsert,
    account_create,
    account_set_technologies,
    account_update,
    contact_bulk_upsert,
    technologies_get_or_create,
)
from .activity import (
    engagement_dedupe_key,
    engagement_event_bulk_insert,
    intent_signal_bulk_upsert,
)
from .icp import (
    icp_criterion_add,
    icp_criterion_delete,
    icp_profile_activate,
    icp_suggestion_apply,
)
from .overrides import account_tier_override, account_tier_unlock
from .personas import (
    accounts_committee_refresh,
    accounts_rescore_all,
    contact_create,
    contact_update,
    contacts_reclassify,
    persona_fields,
    persona_rules_changed,
    tier_committee,
    tier_committee_changed,
    tier_committee_set,
)
from .recompute import accounts_recompute_queue, recompute_run, recompute_start, tiers_recompute

__all__ = [
    "accounts_committee_refresh", "accounts_rescore_all", "contact_create", "contact_update",
    "contacts_reclassify", "persona_fields", "persona_rules_changed", "tier_committee",
    "tier_committee_changed", "tier_committee_set",
    "account_bulk_upsert", "account_create", "account_set_technologies",
    "account_tier_override", "account_tier_unlock", "account_update", "accounts_recompute_queue",
    "contact_bulk_upsert", "engagement_dedupe_key", "engagement_event_bulk_insert",
    "icp_criterion_add", "icp_criterion_delete", "icp_profile_activate",
    "icp_suggestion_apply", "intent_signal_bulk_upsert",
    "recompute_run", "recompute_start", "technologies_get_or_create", "tiers_recompute",
]
