"""Shared set-up for the benchmarks: Django on a throw-away database.

Run a benchmark as `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python
bench/<name>.py`; it creates (and afterwards drops) `test_<name>` so no real data is touched.
"""

import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


def django_with_test_db(keepdb=False):
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_databases

    settings.DEBUG = False
    # Not serialized (that is for the tests' TransactionTestCase): a kept database would be
    # read whole into a string, minutes at full scale.
    db_config = setup_databases(verbosity=0, interactive=False, keepdb=keepdb,
                                serialized_aliases=set())
    return db_config


def teardown(db_config):
    from django.test.utils import teardown_databases

    teardown_databases(db_config, verbosity=0)


@contextmanager
def timer(results, key):
    start = time.perf_counter()
    yield
    results[key] = time.perf_counter() - start


def report(title, rows):
    """rows: (label, value, unit/explanation)"""
    print(f"\n{title}")
    width = max(len(label) for label, _, _ in rows)
    for label, value, note in rows:
        print(f"  {label:<{width}}  {value:>10}  {note}")
