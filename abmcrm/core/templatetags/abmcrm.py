"""Template tags of the abmcrm pages: links that tolerate an unrouted name, and amounts and
numbers written the way the reader's locale writes them (Django's formats)."""

from decimal import Decimal, InvalidOperation

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.formats import number_format

from ..conf import settings

register = template.Library()

NO_VALUE = "—"


@register.simple_tag
def abm_url(name, *args):
    """`{% url %}` that answers "" when the name is not routed: a host project may leave out
    a part (the admin, the API docs) without breaking every page."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _decimal(value):
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@register.filter
def number(value, places=None):
    """1502613 → "1,502,613" (grouped as the locale groups); `places` fixes the decimals,
    else whole numbers show none and others at most two. None → "—"."""
    amount = _decimal(value)
    if amount is None:
        return NO_VALUE
    if places in (None, ""):
        places = 0 if amount == amount.to_integral_value() else 2
    return number_format(amount, decimal_pos=int(places), force_grouping=True)


@register.filter
def money(value, currency=None):
    """81988000.00 → "81,988,000 USD"; 12.5 → "12.50 USD". Cents show only when there are
    some, so a column of round amounts stays readable. The currency is the value's own, or
    ABMCRM_CURRENCY for amounts that have none (revenue, ACV, budgets)."""
    amount = _decimal(value)
    if amount is None:
        return NO_VALUE
    places = 0 if amount == amount.to_integral_value() else 2
    text = number_format(amount, decimal_pos=places, force_grouping=True)
    # A no-break space: the amount and its currency never part at the end of a line.
    return f"{text}\u00a0{currency or settings.ABMCRM_CURRENCY}"
