"""Running every sweeper once (`manage.py redrive`, and periodically the task
`abmcrm.core.tasks.redrive`). Each installed app declares its sweepers (`hooks.sweepers`):
the core's queues jobs again, programs' fulfillments; a later app (or a host's) adds its own
the same way."""

import logging

from . import hooks

logger = logging.getLogger(__name__)


def redrive_all():
    """Run each sweeper once, each on its own: one that fails is logged and reported, and the
    others still run. Returns [(name, {what: count} or None, error text or "")]."""
    results = []
    for name, sweep in hooks.sweepers():
        try:
            counts = sweep()
        except Exception as exc:  # noqa: BLE001 - reported; the next sweepers still run
            logger.exception("sweeper %s failed", name)
            results.append((name, None, f"{type(exc).__name__}: {exc}"))
        else:
            results.append((name, counts or {}, ""))
    return results
