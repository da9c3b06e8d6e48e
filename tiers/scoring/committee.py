"""The buying committee: each contact's fit to the ICP personas, and per account the share of
its tier's required committee present (coverage), the roles it lacks, and the fit of the
contacts filling the seats (the account's contact fit).

Contact fit is one UPDATE per chunk of accounts (a CASE over the personas, written only
where it differs); the account's three fields come from one read of the chunk's contacts
(account, buying role, fit) and are written with its other scores by the recompute.
"""

from collections import defaultdict

from django.db.models import Case, IntegerField, Q, Value, When

from ..models import CommitteeRole, Contact, IcpPersona


def active_personas():
    """[(function, seniority, weight)] of the active ICP profile, highest weight first."""
    return list(IcpPersona.objects.filter(profile__is_active=True).order_by("-weight", "id")
                .values_list("job_function", "seniority", "weight"))


def persona_fit_expression(personas, prefix=""):
    """A contact's fit as a database expression: the weight of the first (highest) persona it
    matches, else 0. `personas` come highest weight first (`active_personas`)."""
    whens, default = [], 0
    for function, seniority, weight in personas:
        conditions = {}
        if function:
            conditions[f"{prefix}job_function"] = function
        if seniority:
            conditions[f"{prefix}seniority"] = seniority
        if not conditions:
            # Any function, any seniority: every contact has at least this weight, and the
            # personas after it weigh no more.
            default = weight
            break
        whens.append(When(Q(**conditions), then=Value(weight)))
    if not whens:
        return Value(default, output_field=IntegerField())
    return Case(*whens, default=Value(default), output_field=IntegerField())


def refresh_contact_fits(rows_q, personas):
    """Write the fit of the contacts of these accounts where it changed; returns how many."""
    fit = persona_fit_expression(personas)
    return Contact.objects.filter(rows_q).exclude(contact_fit=fit).update(contact_fit=fit)


def required_committees():
    """{tier id: [(buying role, count)]}, seats of count 0 left out."""
    committees = defaultdict(list)
    for tier_id, role, count in (CommitteeRole.objects.filter(count__gt=0)
                                 .order_by("tier_id", "id")
                                 .values_list("tier_id", "buying_role", "count")):
        committees[tier_id].append((role, count))
    return dict(committees)


def committee_contacts(rows_q):
    """{account id: {buying role: [contact fits, best first]}} in one query."""
    found = defaultdict(lambda: defaultdict(list))
    for account_id, role, fit in (Contact.objects.filter(rows_q).order_by()
                                  .values_list("account_id", "buying_role", "contact_fit")):
        found[account_id][role].append(fit)
    for roles in found.values():
        for fits in roles.values():
            fits.sort(reverse=True)
    return found


def _half_up(numerator, denominator):
    return (2 * numerator + denominator) // (2 * denominator)


def committee_summary(required, contacts):
    """(contact fit, coverage %, missing roles) of an account.

    `required`: [(role, count)] of its tier (empty: untiered, or a tier requiring nobody);
    `contacts`: {role: [fits, best first]}. Each seat is filled by the best contacts of its
    role; coverage is the share of seats filled (rounded half up), the contact fit the
    average fit of the contacts filling them (0 when none does). With no committee required
    coverage is 100, nothing is missing, and the contact fit is that of the best contact."""
    if not required:
        best = max((fits[0] for fits in contacts.values() if fits), default=0)
        return best, 100, []
    seats = filled = total_fit = 0
    missing = []
    for role, count in required:
        have = contacts.get(role, [])[:count]
        seats += count
        filled += len(have)
        total_fit += sum(have)
        if len(have) < count:
            missing.append(role)
    return (_half_up(total_fit, filled) if filled else 0), _half_up(100 * filled, seats), missing
