"""Reads of the funnel app. The reports live in `reports.py` (SQL with window functions)."""

from django.db.models import Q

from abmcrm.core.db import rowsets
from abmcrm.core.ids import ids_in
from abmcrm.core.text import lookup_keys
from programs.models import Campaign

from .models import Lead, PipelineQuota, Stage, StageTransition


def stages():
    """Every stage in funnel order."""
    return list(Stage.objects.all())


def stage_map():
    """{slug: Stage}, one query."""
    return {stage.slug: stage for stage in Stage.objects.all()}


def side_path(side, all_stages=None):
    """The stages an entity of `side` moves along, in order (its own, then the shared ones;
    the lost exit excluded)."""
    all_stages = stages() if all_stages is None else all_stages
    return [s for s in sorted(all_stages, key=lambda s: (s.position, s.pk))
            if s.on_side(side) and not s.is_lost]


def leads_by_ref(refs, *, only=None):
    """{lower-cased ref: lead} for refs that are ids, external ids or e-mails. An id wins
    over an external id that looks like one. Ids first (one indexed query), then the refs
    still unresolved by external id or e-mail (one more query, only if any)."""
    refs = lookup_keys(refs)
    if not refs:
        return {}

    def query(condition):
        leads = Lead.objects.filter(condition)
        return leads.only(*only) if only else leads

    found = {}
    ids = ids_in(refs)
    if ids:
        # A batch names thousands: one JSON parameter, not an IN list (`rowsets.ids`).
        for lead in query(Q(pk__in=rowsets.ids(ids))):
            found[str(lead.pk)] = lead
    rest = {ref for ref in refs if ref not in found}
    if rest:
        by_external, by_email = {}, {}
        emails = [ref.lower() for ref in rest if "@" in ref]
        for lead in query(Q(external_id__in=rowsets.texts(rest))
                          | Q(email__in=rowsets.texts(emails))):
            if lead.external_id:
                by_external[lead.external_id] = lead
            by_email[lead.email] = lead
        for ref in rest:
            lead = by_external.get(ref) or by_email.get(ref.lower())
            if lead is not None:
                found[ref] = lead
    return {ref.lower(): lead for ref, lead in found.items()}


def campaigns_by_ref(refs):
    """{lower-cased ref: campaign} for ids, names or codes, one query."""
    refs = lookup_keys(refs)
    if not refs:
        return {}
    ids = ids_in(refs)
    lowered = {ref.lower() for ref in refs}
    campaigns = Campaign.objects.filter(
        Q(pk__in=ids) | Q(name__in=refs) | Q(code__in=lowered) | Q(code__in=refs)
    )
    by_id, by_name = {}, {}
    for campaign in campaigns:
        by_id[str(campaign.pk)] = campaign
        by_name[campaign.name.lower()] = campaign
        by_name.setdefault(campaign.code.lower(), campaign)
    found = {}
    for ref in refs:
        campaign = by_id.get(ref) or by_name.get(ref.lower())
        if campaign is not None:
            found[ref.lower()] = campaign
    return found


def lead_list():
    return Lead.objects.select_related("account", "campaign", "stage")


def transition_list():
    """Transitions as the API lists them: the stages by slug, everything else by id (so no
    other table is joined)."""
    return StageTransition.objects.select_related("from_stage", "to_stage")


def quota_list(*, month=None):
    queryset = PipelineQuota.objects.all()
    if month is not None:
        queryset = queryset.filter(month=month)
    return queryset
