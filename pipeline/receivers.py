"""What the pipeline does when the apps below it write: the per-deal touch table follows
their touches and milestones (`services.deal_touches`), in their transaction. Each receiver
keeps only the writes that can change a deal's touches, and refreshes their accounts."""

from programs.models import Campaign, ProgramOrder
from tiers.models import EngagementEvent

from .models import DealTouch, Opportunity
from .services import deal_touches
from .sql.attribution import NOT_PLACED


def on_engagement_recorded(sender, events, **kwargs):
    # Only an event whose source is a campaign's code is a touch.
    sources = {source for _, source in events if source}
    if not sources or not deal_touches.maintained():
        return
    codes = set(Campaign.objects.filter(code__in=sources).values_list("code", flat=True))
    deal_touches.deal_touches_refresh(
        account_ids=[account for account, source in events if source in codes])


def on_transitions_recorded(sender, transitions, **kwargs):
    # A transition with a campaign is a touch; one to the handoff stage is a W-shaped
    # milestone. The automatic entries of a recompute (tens of thousands) are neither.
    wanted = [(account, stage, campaign) for account, stage, campaign in transitions
              if account is not None]
    if not wanted or not deal_touches.maintained():
        return
    middle = deal_touches.middle_stage_ids()
    deal_touches.deal_touches_refresh(account_ids=[
        account for account, stage, campaign in wanted
        if campaign is not None or stage in middle])


def on_leads_changed(sender, account_ids, **kwargs):
    deal_touches.deal_touches_refresh(account_ids=account_ids)


def on_order_placed(sender, orders, **kwargs):
    deal_touches.deal_touches_refresh(
        account_ids=[order.account_id for order in orders if order.item.campaign_id])


def on_order_status_changed(sender, order, from_status, to_status, **kwargs):
    # An order counts as a touch unless rejected or cancelled.
    if (from_status in NOT_PLACED) != (to_status in NOT_PLACED):
        deal_touches.deal_touches_refresh(account_ids=[order.account_id])


# Campaigns are written by the admin and the API's generic views, with no service: their
# model signals are where a change of code (which events are its touches) or a deletion
# (all its touches) is seen.

def _accounts_credited(campaign_id):
    return Opportunity.objects.filter(pk__in=DealTouch.objects.filter(
        campaign_id=campaign_id).values("opportunity_id")).values_list(
            "account_id", flat=True).distinct()


def on_campaign_pre_save(sender, instance, **kwargs):
    old = Campaign.objects.filter(pk=instance.pk).values_list("code", flat=True).first() \
        if instance.pk else None
    instance._deal_touches_old_code = old


def on_campaign_saved(sender, instance, created, **kwargs):
    old = getattr(instance, "_deal_touches_old_code", None)
    if (not created and old == instance.code) or not deal_touches.maintained():
        return
    codes = [code for code in (old, instance.code) if code]
    accounts = set(EngagementEvent.objects.filter(source__in=codes).values_list(
        "account_id", flat=True).distinct()) if codes else set()
    deal_touches.deal_touches_refresh(account_ids=accounts | set(
        _accounts_credited(instance.pk)))


def on_campaign_deleted(sender, instance, **kwargs):
    if not deal_touches.maintained():
        return
    deal_touches.deal_touches_refresh(account_ids=list(_accounts_credited(instance.pk)))


def connect():
    from django.db.models.signals import post_delete, post_save, pre_save

    from funnel import signals as funnel_signals
    from programs import signals as programs_signals
    from tiers import signals as tiers_signals

    tiers_signals.engagement_recorded.connect(on_engagement_recorded,
                                              dispatch_uid="pipeline.engagement_recorded")
    funnel_signals.transitions_recorded.connect(on_transitions_recorded,
                                                dispatch_uid="pipeline.transitions_recorded")
    funnel_signals.leads_changed.connect(on_leads_changed, dispatch_uid="pipeline.leads_changed")
    programs_signals.order_placed.connect(on_order_placed, sender=ProgramOrder,
                                          dispatch_uid="pipeline.order_placed")
    programs_signals.order_status_changed.connect(on_order_status_changed, sender=ProgramOrder,
                                                  dispatch_uid="pipeline.order_status_changed")
    pre_save.connect(on_campaign_pre_save, sender=Campaign, dispatch_uid="pipeline.campaign_pre")
    post_save.connect(on_campaign_saved, sender=Campaign, dispatch_uid="pipeline.campaign_saved")
    post_delete.connect(on_campaign_deleted, sender=Campaign,
                        dispatch_uid="pipeline.campaign_deleted")
