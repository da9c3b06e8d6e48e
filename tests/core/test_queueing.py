"""abmcrm.core.queueing: tasks published by name, never raising for a broker that is down."""

import ast
import re

import pytest
from celery import Task

from abmcrm.core import queueing
from tests.programs.fulfillment.helpers import broker_unreachable
from tests.test_architecture import MODULES

TASK_NAME = re.compile(r"^[a-z_][a-z0-9_.]*\.tasks\.[a-z_][a-z0-9_]*$")


def _task_names_in_code():
    for module, path in sorted(MODULES.items()):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and TASK_NAME.match(node.value)):
                yield module, node.value


@pytest.mark.parametrize(("module", "name"), sorted(set(_task_names_in_code())))
def test_every_task_named_in_the_code_is_a_registered_task(module, name):
    """A misspelt name would fail only when the task is published: each resolves to a
    Celery task registered under that very name."""
    task = queueing.task_named(name)
    assert isinstance(task, Task) and task.name == name, f"{module} names {name}"


def test_the_code_publishes_tasks_by_name():
    # The services of tiers, programs, webhooks and plays and the core's outbox.
    names = {name for _, name in _task_names_in_code()}
    assert {"abmcrm.core.tasks.outbox_dispatch", "tiers.tasks.reclassify_personas",
            "programs.tasks.send_fulfillment", "programs.tasks.notify_order_status",
            "webhooks.tasks.deliver_next", "webhooks.tasks.deliver_queues",
            "webhooks.tasks.send_test", "plays.tasks.handle_events", "plays.tasks.send_alert",
            "plays.tasks.send_digest"} <= names


def test_a_task_is_its_own_name():
    from abmcrm.core.tasks import outbox_dispatch

    assert queueing.task_named(outbox_dispatch) is outbox_dispatch
    assert queueing.task_named("abmcrm.core.tasks.outbox_dispatch").name == outbox_dispatch.name


@pytest.mark.django_db
def test_publish_by_name_runs_the_task_eagerly_in_the_tests():
    # Nothing waiting: the dispatch runs (eagerly here) and hands over no event.
    assert queueing.publish("abmcrm.core.tasks.outbox_dispatch") is True


def test_publish_later_never_runs_a_task_eagerly():
    """An eager task cannot wait its countdown: it is left to the sweeper rather than run at
    once in the caller."""
    assert queueing.publish_later(5, "webhooks.tasks.deliver_next", 1, 2) is False


def test_a_broker_that_is_down_is_reported_never_raised():
    with broker_unreachable():
        assert queueing.publish("webhooks.tasks.deliver_next", 1, 2) is False
        assert queueing.publish_later(5, "webhooks.tasks.deliver_next", 1, 2) is False


def test_an_unknown_name_raises():
    with pytest.raises(ImportError):
        queueing.publish("webhooks.tasks.no_such_task")
