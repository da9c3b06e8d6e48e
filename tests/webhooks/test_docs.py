"""The receiver snippet of docs/apps/webhooks.md, run as written against real deliveries: it
accepts them with the right secret, and detects a wrong secret, a changed body and an old
timestamp."""

import re
import time
from pathlib import Path

import pytest

from abmcrm.core import outbox
from tests.webhooks.conftest import SECRET
from webhooks.services import deliver_queue

pytestmark = pytest.mark.django_db
DOC = Path(__file__).resolve().parents[2] / "docs" / "apps" / "webhooks.md"


def snippet():
    """The doc's receiver code block, executed: its namespace."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    [code] = [block for block in blocks if "abmcrm webhook receiver" in block]
    namespace = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    return namespace["verify_abmcrm_request"]


def test_the_docs_snippet_verifies_real_deliveries(subscribe, receiver):
    verify = snippet()
    subscription = subscribe([outbox.ACCOUNT_ENGAGED])
    outbox.emit(outbox.ACCOUNT_ENGAGED, account_id=1, data={"x": "é"})
    outbox.dispatch()
    deliver_queue(subscription.pk, 1)
    [got] = receiver.snapshot()
    assert verify(SECRET, got.headers, got.raw)
    assert not verify("not-the-secret-at-all", got.headers, got.raw)
    assert not verify(SECRET, got.headers, got.raw.replace(b"1", b"2"))
    later = int(got.headers["X-Abmcrm-Timestamp"]) + 301
    assert not verify(SECRET, got.headers, got.raw, now=later)
    assert verify(SECRET, got.headers, got.raw, now=time.time() + 200)
    assert not verify(SECRET, {**got.headers, "X-Abmcrm-Timestamp": "abc"}, got.raw)
