"""Overlapped writes of a full recompute: a second thread and database connection write one
chunk while this one reads the next."""

from concurrent import futures
from concurrent.futures import ThreadPoolExecutor

from django.db import connection, connections

from ..conf import settings


def can_overlap():
    """Whether a second connection may write chunks while this one reads: PostgreSQL only
    (SQLite has one writer, and its test databases live in one connection), and not inside a
    transaction (the other connection would not see its rows, nor be part of it)."""
    return (settings.ABMCRM_RECOMPUTE_OVERLAP_WRITES and connection.vendor == "postgresql"
            and not connection.in_atomic_block)


class ChunkWriter:
    """Runs each chunk's writes (`write(done, fn, *args)`; `done(result)` is called in this
    thread) either here, or — `overlap` — in one background thread with its own database
    connection, while this thread reads the next chunk. A first recompute spends more on its
    writes than on its reads; overlapped, the database does both at once on two cores. One
    write is in flight at a time, so they commit in chunk order and memory holds two chunks
    at most."""

    def __init__(self, *, overlap):
        self.executor = ThreadPoolExecutor(max_workers=1) if overlap else None
        self.pending = None

    def __enter__(self):
        return self

    def __call__(self, done, fn, *args, **kwargs):
        if self.executor is None:
            done(fn(*args, **kwargs))
            return
        self.wait()
        self.pending = (self.executor.submit(fn, *args, **kwargs), done)

    def wait(self):
        if self.pending is not None:
            future, done = self.pending
            self.pending = None
            done(future.result())

    def __exit__(self, exc_type, exc, tb):
        if self.executor is None:
            return
        try:
            if exc_type is None:
                self.wait()
            elif self.pending is not None:
                futures.wait([self.pending[0]])  # the original error is the one to raise
        finally:
            # The background thread's connection is its own: close it there.
            self.executor.submit(connections.close_all).result()
            self.executor.shutdown()
