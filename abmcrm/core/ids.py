"""Ids that come from outside (a URL, a query string, a file): only a positive integer that
fits the database's id column can name a row. Anything else names none, rather than reaching
the database as a value it can't take (a 500: OverflowError on SQLite, out of range on
PostgreSQL)."""

import secrets
import threading
import time
import uuid

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

    number = as_id(pk)
    found = queryset.filter(pk=number).first() if number is not None else None
    if found is None:
        raise Http404(f"No {queryset.model._meta.verbose_name} with id “{pk}”.")
    return found


_uuid_lock = threading.Lock()
_uuid_last = [0, 0]  # (milliseconds, counter) of the last time-ordered id of this process


def time_ordered_uuid():
    """A UUID whose order is the order of creation (the layout of RFC 9562's version 7: 48
    bits of Unix milliseconds, then a 12-bit counter within the millisecond, then random
    bits). Within a process each is greater than the one before; across processes the clock
    orders them. The outbox's events are read in this order."""
    return uuid.UUID(hex=time_ordered_hex())


def time_ordered_hex():
    """`time_ordered_uuid` as 32 hex digits, without building a UUID object (a tenth of the
    cost: a recompute writes tens of thousands of events at once). PostgreSQL's uuid type
    and Django's UUIDField on SQLite both take this form."""
    with _uuid_lock:
        millis = time.time_ns() // 1_000_000
        if millis <= _uuid_last[0]:
            millis, counter = _uuid_last[0], _uuid_last[1] + 1
            if counter > 0xFFF:  # 4,096 ids in one millisecond: borrow the next one
                millis, counter = millis + 1, 0
        else:
            counter = 0
        _uuid_last[:] = [millis, counter]
    value = (millis << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) \
        | secrets.randbits(62)
    return f"{value:032x}"
