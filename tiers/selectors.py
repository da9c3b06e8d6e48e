from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q

from . import roles
from .models import Account, Contact, ImportJob, Technology, Tier


def users_by_ref(refs):
    """{ref: user} for refs that are user ids or usernames, in one query."""
    refs = {str(ref).strip() for ref in refs if ref not in (None, "")}
    if not refs:
        return {}
    ids = [int(ref) for ref in refs if ref.isdigit()]
    users = get_user_model().objects.filter(Q(pk__in=ids) | Q(username__in=refs))
    found = {}
    for user in users:
        found[user.username] = user
        found[str(user.pk)] = user
    return {ref: found[ref] for ref in refs if ref in found}


def accounts_by_ref(refs, *, only=None):
    """{lower-cased ref: account} for refs that are ids, external ids or domains, in one query.

    An id wins over an external id that looks like one, which wins over a domain."""
    from .domains import normalise_domain

    refs = {str(ref).strip() for ref in refs if ref not in (None, "")}
    if not refs:
        return {}
    ids = [int(ref) for ref in refs if ref.isdigit()]
    domains = {}
    for ref in refs:
        try:
            domains[normalise_domain(ref)] = ref
        except ValueError:
            pass
    queryset = Account.objects.filter(
        Q(pk__in=ids) | Q(external_id__in=refs) | Q(domain__in=list(domains))
    )
    if only:
        queryset = queryset.only(*only)
    by_id, by_external, by_domain = {}, {}, {}
    for account in queryset:
        by_id[str(account.pk)] = account
        if account.external_id:
            by_external[account.external_id] = account
        by_domain[account.domain] = account
    found = {}
    for ref in refs:
        account = by_id.get(ref) or by_external.get(ref)
        if account is None:
            try:
                account = by_domain.get(normalise_domain(ref))
            except ValueError:
                account = None
        if account is not None:
            found[ref.lower()] = account
    return found


def account_list(*, user):
    """Accounts the user may see (every role reads every account), ready for listing."""
    queryset = Account.objects.select_related("owner", "tier").prefetch_related(
        Prefetch("technologies", queryset=Technology.objects.only("id", "name"))
    )
    if not (roles.has_role(user, *roles.ROLES) or user.has_perm("tiers.view_account")):
        return queryset.none()
    return queryset


def contact_list(*, user):
    queryset = Contact.objects.select_related("account")
    if not (roles.has_role(user, *roles.ROLES) or user.has_perm("tiers.view_contact")):
        return queryset.none()
    return queryset


def tier_list():
    return Tier.objects.all()


def import_job_list(*, user):
    queryset = ImportJob.objects.select_related("created_by")
    if roles.is_marketer(user):
        return queryset
    return queryset.filter(created_by=user)
