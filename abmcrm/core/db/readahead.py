"""Reading the next chunk while the caller works on this one.

A job that reads a chunk, works it out and writes it back, chunk after chunk, leaves the
database idle while Python works and Python idle while the database reads. `read_ahead`
runs the reads in a thread of their own, with its own database connection, one chunk ahead
(or `depth`): the server runs the next read and the driver decodes it while the caller works
on and writes the current chunk.

Only where it is safe and useful (`can_read_ahead`): on PostgreSQL (a server working
alongside; SQLite's reads run in the process and another connection would contend for the
database's lock with the writes), and only outside a transaction: the reading thread's
connection sees only what is committed, so a caller inside `transaction.atomic` (a test, or
a caller's own transaction) would read around its own uncommitted writes. The chunks must
not depend on what the caller writes of the chunks before them (disjoint sets of rows, say):
the next one is read before the current one is written.
"""

import queue
import threading

from django.db import connection

_END = object()


def can_read_ahead():
    """True where `read_ahead` is safe and useful: PostgreSQL, outside a transaction."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def read_ahead(chunks, *, depth=1):
    """Yield the items of the iterable `chunks` (whose work is reading the database) in
    order, read in a thread with its own connection at most `depth` items ahead of the
    caller. An exception raised by the reads is raised here, at the item it replaced. When
    the caller stops (at the end, on an exception of its own, or by closing the generator),
    the thread is told to stop, is waited for, and its connection is closed."""
    ready = queue.Queue(maxsize=depth)
    stop = threading.Event()

    items = iter(chunks)

    def read():
        try:
            for chunk in items:
                if not _put((chunk, None)):
                    return
            _put((_END, None))
        except BaseException as exc:  # handed to the caller, which raises it
            _put((None, exc))
        finally:
            try:
                getattr(items, "close", lambda: None)()  # a generator stopped early
            finally:
                connection.close()  # this thread's own

    def _put(item):
        """Put `item` once there is room; False if the caller stopped meanwhile."""
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    reader = threading.Thread(target=read, name="read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            chunk, exc = ready.get()
            if exc is not None:
                raise exc
            if chunk is _END:
                return
            yield chunk
    finally:
        stop.set()
        reader.join()
