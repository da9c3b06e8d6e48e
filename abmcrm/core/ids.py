"""Ids that come from outside (a URL, a query string, a file): only a positive integer that
fits the database's id column can name a row. Anything else names none, rather than reaching
the database as a value it can't take (a 500: OverflowError on SQLite, out of range on
PostgreSQL)."""

MAX_ID = 2**63 - 1  # the largest value of a bigint primary key


def as_id(value):
    """`value` as an id, or None."""
    text = str(value).strip()
    # 19 digits hold any bigint; int() of a few thousand digits raises rather than answers.
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def ids_in(values):
    """The values that are ids, as ints (the others are dropped)."""
    return [number for number in map(as_id, values) if number is not None]


def object_or_404(queryset, pk):
    """The row of `queryset` that `pk` (from a URL) names, else Http404: also when `pk` is no
    id at all (Django's `get_object_or_404` lets "abc" escape as a ValueError, a 500)."""
    from django.http import Http404
    from django.utils.translation import gettext as _

    number = as_id(pk)
    found = queryset.filter(pk=number).first() if number is not None else None
    if found is None:
        raise Http404(_("No %(model)s with id “%(id)s”.")
                      % {"model": queryset.model._meta.verbose_name, "id": pk})

    return found
