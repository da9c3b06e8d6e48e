"""Tiers set by hand: an override puts an account in a tier and locks it against the rules;
unlocking hands it back to them."""

from django.db import transaction

from abmcrm.core.exceptions import Conflict, InvalidInput

from .. import scoring, signals
from ..models import Account, TierAssignment


def account_tier_override(*, account, tier, reason, by):
    """Put an account in a tier (or none) by hand and lock it against recomputation."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why you override the tier.", detail={"reason": [
            "A reason is required."]})
    old_tier = account.tier
    with transaction.atomic():
        moved = Account.objects.filter(pk=account.pk, tier_id=account.tier_id).update(
            tier=tier, tier_rule=None, tier_locked=True)
        if not moved:
            raise Conflict("The account's tier changed meanwhile; reload and try again.")
        scoring.refresh_committees([account.pk])  # the committee the new tier requires
        account.refresh_from_db()
        assignment = TierAssignment.objects.create(
            account=account, old_tier=old_tier, new_tier=tier, rule=None,
            cause=TierAssignment.Cause.OVERRIDE, reason=reason, by=by,
            fit_score=account.fit_score, intent_score=account.intent_score,
            engagement_score=account.engagement_score,
        )
        if (old_tier and old_tier.pk) != (tier and tier.pk):
            signals.announce_tier_changes(
                [(account.pk, old_tier and old_tier.pk, tier and tier.pk, assignment.pk)],
                by=by, loaded=[(account, old_tier, tier, assignment)])
    return assignment


def account_tier_unlock(*, account, by, reason=""):
    """Hand the account back to the rules: unlock it and place it by them at once."""
    with transaction.atomic():
        unlocked = Account.objects.filter(pk=account.pk, tier_locked=True).update(
            tier_locked=False)
        if not unlocked:
            raise Conflict("The account's tier is not locked.")
        scoring.retier(account_ids=[account.pk], by=by)
        scoring.refresh_committees([account.pk])
    account.refresh_from_db()
    return account
