"""The bulk endpoints' service (`POST …/bulk/` of every kind)."""

import logging

from django.db import IntegrityError
from django.utils.translation import gettext as _

from ..exceptions import InvalidInput
from .base import MAX_BULK_ITEMS
from .registry import get_ingester

logger = logging.getLogger(__name__)


def bulk_ingest(*, kind, items, user):
    """Validate and upsert up to MAX_BULK_ITEMS items of one kind."""
    if not isinstance(items, list):
        raise InvalidInput(_("Expected a JSON list of objects."))
    if len(items) > MAX_BULK_ITEMS:
        raise InvalidInput(
            _("Too many items: %(count)s; send at most %(limit)s per request.")
            % {"count": len(items), "limit": MAX_BULK_ITEMS}

        )
    ingester = get_ingester(kind)
    try:
        return ingester.ingest(items, user=user)
    except IntegrityError:
        # A concurrent request created the same rows between our read and our write:
        # the second pass sees them and updates instead.
        logger.info("bulk %s: retrying after a concurrent insert", kind)
        return ingester.ingest(items, user=user)
