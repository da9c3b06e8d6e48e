"""The parallel-safe array aggregate (abmcrm.core.db.aggregates): the same values as
array_agg, whether one process collects them or several workers' arrays are combined."""

import pytest
from django.db import connection

from abmcrm.core.db.aggregates import float_array_agg

pytestmark = pytest.mark.django_db

ROWS = 60_000


def _values(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="SQLite has no arrays: its report ranks rows instead")
def test_without_rows_it_gives_null_like_array_agg():
    assert _values(f"SELECT {float_array_agg('x')} FROM (SELECT 1.5::float8 AS x) t "
                   "WHERE false") == [(None,)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="parallel plans are PostgreSQL's")
def test_workers_arrays_are_combined_into_every_value():
    with connection.cursor() as cursor:
        # A real table (parallel workers cannot read temporary ones), in the test's
        # transaction: the workers share its snapshot.
        cursor.execute("CREATE TABLE agg_probe (grp int, x float8)")
        cursor.execute("INSERT INTO agg_probe SELECT g %% 3, ((g * 7919) %% 100003) / 7.0 "
                       "FROM generate_series(1, %s) g", [ROWS])
        cursor.execute("ANALYZE agg_probe")
        for name, value in (("parallel_setup_cost", "0"), ("parallel_tuple_cost", "0"),
                            ("min_parallel_table_scan_size", "0"),
                            ("max_parallel_workers_per_gather", "2")):
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
    query = (f"SELECT grp, {float_array_agg('x')}, count(*) FROM agg_probe GROUP BY grp")
    plan = "\n".join(row[0] for row in _values(f"EXPLAIN (ANALYZE, COSTS OFF) {query}"))
    assert "Partial" in plan and "Workers Launched: 0" not in plan, plan
    combined = {grp: sorted(values) for grp, values, _ in _values(query)}
    expected = {grp: values for grp, values in _values(
        "SELECT grp, array_agg(x ORDER BY x) FROM agg_probe GROUP BY grp")}
    assert combined == expected
    assert sum(len(values) for values in combined.values()) == ROWS


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's own percentile_cont")
@pytest.mark.parametrize("n", [1, 2, 3, 10, 1001])
@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.25])
def test_percentile_cont_gives_postgresqls_double(n, fraction):
    from abmcrm.core.db.aggregates import float_array_bytes, float_array_values, percentile_cont

    [(expected, data, as_list)] = _values(
        f"SELECT percentile_cont(%s) WITHIN GROUP (ORDER BY x), "
        f"{float_array_bytes('array_agg(x)')}, array_agg(x) FROM (SELECT "
        "(((g * 7919) %% 1009) / 7.3 + g / 1000.0)::float8 AS x "
        "FROM generate_series(1, %s) g) t",
        [fraction, n])
    values = float_array_values(data)
    assert values.tolist() == as_list  # the binary array reads back bit for bit
    assert percentile_cont(values, fraction) == expected


def test_percentile_cont_of_nothing_is_none():
    import numpy as np

    from abmcrm.core.db.aggregates import percentile_cont

    assert percentile_cont(np.empty(0), 0.5) is None
