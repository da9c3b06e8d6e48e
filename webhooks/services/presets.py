"""Payload presets: what a delivery's body looks like.

- `abmcrm`: `{"id", "type", "occurred_at", "data"}`: the event as it is.
- `hubspot`: the account as HubSpot company properties: `hs_ideal_customer_profile`
  (`tier_one`, `tier_two`, `tier_three`, or "" without a tier), `hs_is_target_account`, and
  abmcrm's scores as custom properties (`abmcrm_*`, to create in HubSpot).
- `salesforce`: the account as Salesforce Account fields (`ABM_Tier__c`, `Fit_Score__c`,
  `Intent_Score__c`, `Engagement_Score__c`, `Buying_Stage__c`, `Is_6QA__c`), keyed by the
  account's `external_id` (the CRM's id, as loaded into abmcrm).

The CRM presets describe the account as it is when the event is handed to the webhooks (a
sync sets the current values), with the event's id, type and time so that the receiver can
de-duplicate and order. Buying stage and 6QA are the account's `buying_stage` / `is_6qa`
(written by the inmarket scoring); the event's data only stands in for an account that is
gone."""

from tiers.models import Account

HUBSPOT_TIERS = {1: "tier_one", 2: "tier_two", 3: "tier_three"}


def accounts_for(events):
    """{account id: Account (with its tier)} of the events' accounts: one query."""
    ids = {event.account_id for event in events if event.account_id is not None}
    return Account.objects.select_related("tier").in_bulk(ids) if ids else {}


def _envelope(event):
    return {"id": str(event.id), "type": event.type,
            "occurred_at": event.occurred_at.isoformat()}


def _intent(account, event):
    data = event.data or {}
    stage = getattr(account, "buying_stage", None) if account else None
    is_6qa = getattr(account, "is_6qa", None) if account else None
    if stage is None:
        stage = data.get("new_stage") or data.get("buying_stage")
    if is_6qa is None:
        is_6qa = data.get("is_6qa")
    return stage or "", bool(is_6qa)


def abmcrm(event, account):
    return {**_envelope(event), "data": event.data}


def hubspot(event, account):
    number = account.tier.number if account is not None and account.tier_id else None
    stage, is_6qa = _intent(account, event)
    properties = {
        "hs_ideal_customer_profile": HUBSPOT_TIERS.get(number, ""),
        "hs_is_target_account": "true" if number is not None else "false",
    }
    if account is not None:
        properties.update({
            "abmcrm_account_id": str(account.pk),
            "abmcrm_tier": str(number) if number is not None else "",
            "abmcrm_fit_score": account.fit_score,
            "abmcrm_intent_score": account.intent_score,
            "abmcrm_engagement_score": account.engagement_score,
            "abmcrm_surging_topics": ";".join(account.surging_topics or []),
            "abmcrm_buying_stage": stage,
            "abmcrm_is_6qa": "true" if is_6qa else "false",
        })
    return {**_envelope(event), "objectType": "company",
            "company": None if account is None else {
                "domain": account.domain, "external_id": account.external_id,
                "name": account.name},
            "properties": properties}


def salesforce(event, account):
    stage, is_6qa = _intent(account, event)
    fields = {}
    if account is not None:
        fields = {
            "ABM_Tier__c": account.tier.number if account.tier_id else None,
            "Fit_Score__c": account.fit_score,
            "Intent_Score__c": account.intent_score,
            "Engagement_Score__c": account.engagement_score,
            "Buying_Stage__c": stage or None,
            "Is_6QA__c": is_6qa,
        }
    return {**_envelope(event), "sobject": "Account",
            "external_id": account.external_id if account is not None else None,
            "fields": fields}


PRESETS = {"abmcrm": abmcrm, "hubspot": hubspot, "salesforce": salesforce}


def payload(preset, event, account):
    return PRESETS[preset](event, account)
