"""Amounts and numbers for people: grouped and with decimals as the reader's locale writes
them (Django's formats), amounts with their currency. The pages' `number` and `money`
filters and any Python that writes an amount into a sentence use these."""

from decimal import Decimal, InvalidOperation

from django.utils.formats import number_format

from .conf import settings

NO_VALUE = "—"


def _decimal(value):
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def number(value, places=None):
    """1502613 → "1,502,613" (grouped as the locale groups); `places` fixes the decimals,
    else whole numbers show none and others at most two. None → "—"."""
    amount = _decimal(value)
    if amount is None:
        return NO_VALUE
    if places in (None, ""):
        places = 0 if amount == amount.to_integral_value() else 2
    return number_format(amount, decimal_pos=int(places), force_grouping=True)


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
