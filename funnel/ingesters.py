"""Bulk and CSV ingest of the funnel: leads, and transitions (also the transitions endpoint's
validation); rows validated by the serializers, written by the services."""

import logging

from django.db import IntegrityError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from abmcrm.core import ingest
from abmcrm.core.exceptions import InvalidInput
from tiers import selectors as tier_selectors

from . import selectors, services
from .serializers import LeadRowSerializer, TransitionRowSerializer

logger = logging.getLogger(__name__)


def _transition_context(items):
    dicts = [item for item in items if isinstance(item, dict)]
    return {
        "accounts_by_ref": tier_selectors.accounts_by_ref(
            [i.get("account") for i in dicts], only=("id", "domain", "external_id", "owner")),
        "leads_by_ref": selectors.leads_by_ref(
            [i.get("lead") for i in dicts],
            # account_id too: a lead's transition event names its account (a deferred field
            # would be read back one query a lead).
            only=("id", "email", "external_id", "account_id", "stage_id", "previous_stage_id",
                  "version", "entered_at", "stage_changed_at")),
        "campaigns_by_ref": selectors.campaigns_by_ref([i.get("campaign") for i in dicts]),
        "stages": selectors.stage_map(),
    }


def _validate(items, serializer):
    valid, errors = [], []
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append({"index": position,
                           "errors": {"non_field_errors": [_("Expected an object.")]}})
            continue
        try:
            valid.append((position, serializer.run_validation(item)))
        except Exception as exc:  # DRF ValidationError
            detail = getattr(exc, "detail", None)
            if detail is None:
                raise
            errors.append({"index": position, "errors": ingest.flatten_errors(detail)})
    return valid, errors


def transitions_record(*, items, user):
    """The transitions endpoint's service: validate and record up to 10,000 transitions.
    Returns a TransitionBatch with per-item results and errors (by `index`)."""
    if not isinstance(items, list):
        raise InvalidInput(_("Expected a transition object or a JSON list of them."))
    if len(items) > ingest.MAX_BULK_ITEMS:
        raise InvalidInput(_("Too many items: %(count)s; send at most %(limit)s per request.")
                           % {"count": len(items), "limit": ingest.MAX_BULK_ITEMS})
    for attempt in range(2):
        serializer = TransitionRowSerializer(context=_transition_context(items))
        valid, errors = _validate(items, serializer)
        try:
            batch = services.transitions_apply(rows=valid, user=user)
        except IntegrityError:
            # Another request recorded one of these external ids between our read and our
            # write: a second pass answers them as already recorded.
            if attempt:
                raise
            logger.info("transitions: retrying after a concurrent insert")
            continue
        batch.errors.extend(errors)
        return batch


class LeadIngester(ingest.Ingester):
    kind = "leads"
    label = gettext_lazy("Leads")
    serializer_class = LeadRowSerializer
    permission = "funnel.add_lead"
    columns = ("email", "first_name", "last_name", "company", "account", "channel",
               "campaign", "created_at", "external_id")
    required_columns = ("email",)

    def prefetch(self, items):
        dicts = [item for item in items if isinstance(item, dict)]
        return {
            "accounts_by_ref": tier_selectors.accounts_by_ref(
                [i.get("account") for i in dicts], only=("id", "domain", "external_id")),
            "campaigns_by_ref": selectors.campaigns_by_ref([i.get("campaign") for i in dicts]),
        }

    def write(self, rows, *, user):
        return services.lead_bulk_upsert(rows=rows, user=user)


class TransitionIngester(ingest.Ingester):
    """CSV import of transitions: the same checks as the API, rows applied in file order."""

    kind = "transitions"
    label = gettext_lazy("Stage transitions")

    serializer_class = TransitionRowSerializer
    permission = "funnel.add_stagetransition"
    columns = ("account", "lead", "to_stage", "from_stage", "occurred_at", "channel",
               "campaign", "amount", "external_id", "reopen")
    required_columns = ("to_stage",)

    def prefetch(self, items):
        return _transition_context(items)

    def write(self, rows, *, user):
        batch = services.transitions_apply(rows=rows, user=user)
        return (batch.created, 0, batch.unchanged,
                [(e["index"], e["errors"]) for e in batch.errors])
