"""Reads of the pipeline app. The reports, the forecast and attribution live in `reports.py`
and `attribution.py` (SQL in `sql/`)."""

from django.contrib.auth import get_user_model
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Prefetch, Q, Sum, Value
from django.db.models.functions import Coalesce, Round

from abmcrm.core.db import rowsets
from abmcrm.core.ids import ids_in
from tiers.models import Contact

from .models import Opportunity, OpportunityContact, OpportunityStage, OpportunityStageChange


def _ref(value):
    return str(value).strip().lower()


def stages():
    """Every stage in pipeline order."""
    return list(OpportunityStage.objects.all())


def stages_by_ref(all_stages=None):
    """{lower-cased slug or name: stage}: stages are referred to by either, in any case."""
    all_stages = stages() if all_stages is None else all_stages
    found = {}
    for stage in all_stages:
        found.setdefault(stage.name.strip().lower(), stage)
    for stage in all_stages:
        found[stage.slug.lower()] = stage  # a slug wins over another stage's name
    return found


def first_open_stage(all_stages=None):
    all_stages = stages() if all_stages is None else all_stages
    return next((s for s in all_stages if not s.is_closed), None)


def users_by_ref(refs):
    """{lower-cased ref: user} for refs that are user ids, usernames or e-mails, one query.
    An e-mail that several users share names none of them (it is left out)."""
    refs = {str(ref).strip() for ref in refs if ref not in (None, "")}
    if not refs:
        return {}
    User = get_user_model()
    emails = [ref for ref in refs if "@" in ref]
    condition = Q(pk__in=ids_in(refs)) | Q(username__in=refs)
    for email in emails:
        condition |= Q(email__iexact=email)
    by_id, by_name, by_email, shared = {}, {}, {}, set()
    for user in User.objects.filter(condition):
        by_id[str(user.pk)] = user
        by_name[user.get_username()] = user
        email = (user.email or "").lower()
        if email:
            if email in by_email and by_email[email].pk != user.pk:
                shared.add(email)
            by_email[email] = user
    found = {}
    for ref in refs:
        user = by_id.get(ref) or by_name.get(ref)
        if user is None and ref.lower() not in shared:
            user = by_email.get(ref.lower())
        if user is not None:
            found[ref.lower()] = user
    return found


def contacts_by_ref(refs):
    """{lower-cased ref: [contacts]} for contact ids or e-mails, one query. An e-mail may
    belong to contacts of several accounts: the caller picks the one of the deal's account."""
    refs = {str(ref).strip() for ref in refs if ref not in (None, "")}
    if not refs:
        return {}
    emails = {ref.lower() for ref in refs if "@" in ref}
    contacts = Contact.objects.filter(Q(pk__in=ids_in(refs)) | Q(email__in=emails)).only(
        "id", "account_id", "email", "first_name", "last_name", "buying_role")
    found = {}
    for contact in contacts:
        found.setdefault(str(contact.pk), []).append(contact)
        found.setdefault(contact.email.lower(), []).append(contact)
    return {ref.lower(): found[ref.lower()] for ref in refs if ref.lower() in found}


def opportunity_list():
    """Every deal (every role reads every deal), with what the API and the pages show, in a
    fixed number of queries."""
    return Opportunity.objects.select_related(
        "account", "stage", "owner", "campaign").prefetch_related(
        Prefetch("committee", queryset=OpportunityContact.objects.select_related("contact")))


def opportunities_by_external_id(external_ids):
    """{external id: deal} with their committees, two queries."""
    if not external_ids:
        return {}
    committee = Prefetch("committee", queryset=OpportunityContact.objects.only(
        "id", "opportunity_id", "contact_id", "role"))
    deals = Opportunity.objects.filter(
        external_id__in=rowsets.texts(external_ids)).prefetch_related(committee)
    return {deal.external_id: deal for deal in deals}


def account_opportunities(*, account):
    """The account page's panel: its deals, open ones first, newest first."""
    return opportunity_list().filter(account=account).order_by("status", "-opened_at", "-id")


def stage_change_list(*, opportunity):
    return OpportunityStageChange.objects.filter(opportunity=opportunity).select_related(
        "from_stage", "to_stage", "by").order_by("at", "id")


def board(*, queryset, per_stage=50):
    """The open deals of `queryset` by stage: [{"stage", "deals", "count", "amount",
    "weighted"}], every open stage listed (an empty column still takes a deal moved to it).
    The sums come from one aggregate; each column shows its first `per_stage` deals by
    expected close date (one query a column: a fixed number for the page)."""
    open_deals = queryset.filter(status=Opportunity.Status.OPEN)
    money = DecimalField(max_digits=18, decimal_places=2)
    # Each deal's weighted amount rounded to the cent, as the reports and the forecast do.
    weighted = Round(ExpressionWrapper(F("amount") * F("stage__probability") / Value(100),
                                       output_field=money), 2)
    sums = {row["stage"]: row for row in open_deals.order_by().values("stage").annotate(
        n_deals=Count("id"), total=Coalesce(Sum("amount"), Value(0), output_field=money),
        total_weighted=Coalesce(Sum(weighted), Value(0), output_field=money))}
    out = []
    for stage in stages():
        if stage.is_closed:
            continue
        row = sums.get(stage.pk, {})
        deals = list(open_deals.filter(stage=stage).prefetch_related(None).order_by(
            F("close_date").asc(nulls_last=True), "id")[:per_stage])
        out.append({"stage": stage, "deals": deals, "count": row.get("n_deals", 0),
                    "amount": row.get("total", 0), "weighted": row.get("total_weighted", 0)})
    return out
