"""Collecting doubles into arrays on PostgreSQL, for reports that pick order statistics
(medians, percentiles) from them in NumPy.

`FLOAT_ARRAY_AGG` (created by abmcrm/core/migrations/0007_float_array_agg.py) collects
doubles like `array_agg`, but can run in parallel: it declares a combine function
(`array_cat`), which PostgreSQL's own `array_agg` has only from version 16. A report that
collects values next to its counts would otherwise keep its whole aggregation in one
process, while a `GROUP BY` scan of the same size runs in the leader and its workers. The
transition function is `array_append`, which extends the aggregate's expanded array in place
(no copy a row). Without rows it gives NULL, as `array_agg` does; the order of the values
is not kept across workers, so it is for values that are ranked afterwards.

The arrays travel in PostgreSQL's binary array format (`array_send`) and are read with one
NumPy call (`float_array_values`): PostgreSQL before version 18 has no array sort and no
selection, and ranking a few hundred thousand values in SQL (unnest, sort, aggregate again)
cost more than the aggregation itself, where NumPy selects order statistics in linear time.
"""

import struct

import numpy as np
from django.db import connection

FLOAT_ARRAY_AGG = "abmcrm_float8_array_agg"
_FLOAT8_OID = 701
_ELEMENTS = np.dtype([("size", ">i4"), ("value", ">f8")])


def float_array_agg(expression):
    """SQL collecting the double `expression` into an unordered array (NULL without rows):
    the parallel-safe aggregate on PostgreSQL, `array_agg` elsewhere."""
    name = FLOAT_ARRAY_AGG if connection.vendor == "postgresql" else "array_agg"
    return f"{name}({expression})"


def float_array_bytes(expression):
    """SQL giving the double array `expression` in PostgreSQL's binary format (a bytea)."""
    return f"array_send({expression})"


def float_array_values(data):
    """The values of a one-dimensional double array without NULLs, as `float_array_bytes`
    sent it: a float64 NumPy array (bit for bit the database's doubles)."""
    data = bytes(data)
    ndim, has_nulls, element_type = struct.unpack_from(">iiI", data)
    if ndim == 0:
        return np.empty(0, dtype=np.float64)
    if ndim != 1 or has_nulls or element_type != _FLOAT8_OID:
        raise ValueError("expected a one-dimensional double precision array without NULLs")
    (count,) = struct.unpack_from(">i", data, 12)
    return np.frombuffer(data, dtype=_ELEMENTS, count=count, offset=20)["value"].astype(
        np.float64)


def percentile_cont(values, fraction):
    """PostgreSQL's `percentile_cont(fraction) WITHIN GROUP (ORDER BY v)` of a float64 array
    (None when empty), with its arithmetic, so that the result is the same double: the
    values at ranks floor and ceil of fraction × (n - 1), selected in linear time, and
    interpolated as first + (second - first) × proportion."""
    n = len(values)
    if not n:
        return None
    position = fraction * (n - 1)
    first_row, second_row = int(np.floor(position)), int(np.ceil(position))
    chosen = np.partition(values, sorted({first_row, second_row}))
    first = float(chosen[first_row])
    if second_row == first_row:
        return first
    return first + (float(chosen[second_row]) - first) * (position - first_row)
