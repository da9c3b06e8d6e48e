"""The model's features: the snapshot's typed columns, in a fixed order, each with the words
a person reads; and the snapshot feature providers, which fill the snapshot columns another
app owns (the buying committee's contact fit and coverage) without this app naming that
app's code: a provider returns an SQL expression on the account row `a`, or None when what
it reads is not installed (the column is then empty)."""

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _

from abmcrm.core.db.names import column
from tiers.models import Account

# (name, label): the feature matrix's columns, in this order. `tier_*` and `stage_*` are
# derived from the snapshot's tier number and funnel stage; `has_*` say a value is known.
FEATURES = [
    ("fit_score", _("ICP fit")),
    ("fit_criteria_met", _("ICP criteria met")),
    ("intent_score", _("intent")),
    ("surging_topics", _("surging intent topics")),
    ("intent_topics", _("intent topics")),
    ("engagement_7d", _("engagement in the last 7 days")),
    ("engagement_30d", _("engagement in the last 30 days")),
    ("engagement_90d", _("engagement in the last 90 days")),
    ("engagement_points", _("weighted engagement")),
    ("purchase_30d", _("pricing and demo requests in the last 30 days")),
    ("contacts_30d", _("people engaged in the last 30 days")),
    ("contact_fit", _("contact fit")),
    ("has_contact_fit", _("contact fit known")),
    ("coverage", _("buying committee coverage")),
    ("tier_1", _("Tier 1")),
    ("tier_2", _("Tier 2")),
    ("tier_3", _("Tier 3")),
    ("funnel_position", _("funnel stage")),
    ("won_deals", _("deals won before")),
]
NAMES = [name for name, _label in FEATURES]
LABELS = dict(FEATURES)

# The snapshot columns the matrix is built from, in the order `sql.training` reads them.
SNAPSHOT_COLUMNS = ["fit_score", "fit_criteria_met", "intent_score", "surging_topics",
                    "intent_topics", "engagement_7d", "engagement_30d", "engagement_90d",
                    "engagement_points", "purchase_30d", "contacts_30d", "contact_fit",
                    "coverage", "tier", "funnel_stage", "won_deals"]


# Snapshot feature providers ------------------------------------------------------------

_PROVIDERS = {}


def register_provider(name, provider):
    """`provider()` → SQL of the value of snapshot column `name` ("contact_fit",
    "coverage") for the account row aliased `a`, or None (unknown: NULL)."""
    _PROVIDERS[name] = provider


def provided(name):
    provider = _PROVIDERS.get(name)
    expression = provider() if provider else None
    return expression or "NULL"


def account_field(name):
    """A provider reading `Account.<name>` if the model has that field (the buying committee
    adds `contact_fit` and `coverage` to the account), else nothing."""

    def provide():
        try:
            Account._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        return f"a.{column(Account, name)}"

    return provide


register_provider("contact_fit", account_field("contact_fit"))
register_provider("coverage", account_field("coverage"))
