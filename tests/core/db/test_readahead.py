"""Reading ahead (abmcrm/core/db/readahead.py): the items come in order from a thread of
their own, an error in the reads is raised to the caller, and however the caller stops, the
thread stops and its connection is closed."""

import contextlib
import threading

import pytest
from django.db import connection, connections, transaction

from abmcrm.core.db import readahead
from tiers.models import Account

pytestmark = pytest.mark.django_db(transaction=True)


def _threads():
    return [thread for thread in threading.enumerate() if thread.name == "read-ahead"]


class Reads:
    """Items read on the database, recording the thread and connection of each read."""

    def __init__(self, n, fail_at=None):
        self.n, self.fail_at = n, fail_at
        self.threads, self.connections = [], []
        self.closed = threading.Event()

    def __iter__(self):
        try:
            for i in range(self.n):
                if i == self.fail_at:
                    raise ValueError(f"read {i} failed")
                self.threads.append(threading.current_thread().name)
                self.connections.append(connections["default"])
                yield i, Account.objects.count()
        finally:
            self.closed.set()


def test_items_come_in_order_from_a_thread_with_its_own_connection():
    reads = Reads(5)
    assert [item for item in readahead.read_ahead(reads)] == [(i, 0) for i in range(5)]
    assert set(reads.threads) == {"read-ahead"}
    assert reads.connections[0] is not connections["default"]
    assert reads.connections[0].connection is None  # closed when the thread ended
    assert _threads() == []


def test_an_error_in_the_reads_is_raised_to_the_caller_after_the_items_before_it():
    reads, got = Reads(5, fail_at=2), []
    with pytest.raises(ValueError, match="read 2 failed"):
        for item in readahead.read_ahead(reads):
            got.append(item)
    assert got == [(0, 0), (1, 0)]
    assert reads.connections[0].connection is None
    assert _threads() == []


def test_a_caller_that_stops_early_stops_the_thread():
    reads = Reads(100)
    chunks = readahead.read_ahead(reads)
    assert next(chunks) == (0, 0)
    chunks.close()
    assert reads.closed.is_set()  # the reads' generator was closed, in the thread
    assert len(reads.threads) <= 3  # one at hand, one waiting, one being read
    assert reads.connections[0].connection is None
    assert _threads() == []


def test_a_caller_that_fails_stops_the_thread():
    reads = Reads(100)
    with pytest.raises(RuntimeError), contextlib.closing(
            readahead.read_ahead(reads)) as chunks:
        for _item in chunks:
            raise RuntimeError("the caller failed")
    assert reads.closed.is_set()
    assert _threads() == []


def test_only_on_postgresql_outside_a_transaction():
    assert readahead.can_read_ahead() is (connection.vendor == "postgresql")
    with transaction.atomic():
        assert readahead.can_read_ahead() is False
