"""The reference project's Celery app: database connections between tasks."""

import pytest
from django.db import connection

from abmcrm import celery as celery_app
from programs.tasks import send_fulfillment


@pytest.fixture
def worker_request():
    """Run the signal handlers as a worker would: for a task that is not eager."""
    send_fulfillment.push_request(is_eager=False)
    yield send_fulfillment
    send_fulfillment.pop_request()


@pytest.mark.django_db(transaction=True)
def test_connection_used_a_moment_ago_skips_the_health_check(worker_request):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite connections are not kept between tasks (CONN_MAX_AGE 0).")
    connection.ensure_connection()
    celery_app.close_db_connections_after_task(sender=worker_request)
    assert connection.connection is not None  # kept for the next task
    assert not connection.health_check_done

    celery_app.check_db_connections_before_task(sender=worker_request)
    assert connection.health_check_done  # the next query goes without a SELECT 1 first

    # After an idle spell the connection is checked again before it is used.
    celery_app._last_task_end[0] -= celery_app.FRESH_AFTER_TASK + 1
    celery_app.check_db_connections_before_task(sender=worker_request)
    assert not connection.health_check_done
    with connection.cursor() as cursor:  # and the check passes on a live connection
        cursor.execute("SELECT 1")
    assert connection.health_check_done


@pytest.mark.django_db
def test_eager_tasks_leave_the_callers_connection_alone():
    send_fulfillment.push_request(is_eager=True)
    try:
        connection.ensure_connection()
        raw = connection.connection
        celery_app.close_db_connections_after_task(sender=send_fulfillment)
        celery_app.check_db_connections_before_task(sender=send_fulfillment)
        # Inside the test's transaction a request-style check would close the connection.
        assert connection.connection is raw
        assert connection.in_atomic_block
    finally:
        send_fulfillment.pop_request()
