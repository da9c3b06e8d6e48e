"""Sending deliveries: one (subscription, account) queue at a time, in order.

A queue's head is its pending delivery of lowest id; only the head is ever in flight, so a
later event of an account never reaches the receiver before an earlier one. The task
`deliver_next(subscription, account)` claims the head (a compare-and-set that holds it for
`_claim_seconds()`), POSTs it outside any transaction, records the answer, and goes on with
the next head while they are due; `deliver_queues` takes several queues in turns, and the
record of a delivered attempt claims the next head in the same statement. A retry is queued
with a countdown; the sweeper (`deliveries_redrive`) queues every queue whose head is overdue
and unclaimed: a task lost with the broker or with a killed worker. Delivery is at least
once: a receiver de-duplicates on `X-Abmcrm-Delivery` (the event's id)."""

import json
import logging
import os
import random
import time
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import urllib3
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from abmcrm.core.queueing import publish, publish_later
from abmcrm.core.text import storable

from .. import sql
from ..conf import settings
from ..models import WebhookDelivery, WebhookSubscription
from . import signing, targets
from .notifications import subscription_paused_notify

logger = logging.getLogger(__name__)
Status = WebhookDelivery.Status
# Deliveries one task sends in a row from one queue before it hands over to a new task.
RUN_LENGTH = 50
# Queues one sweep queues at most (the next sweep takes the rest).
SWEEP_BATCH = 1000
USER_AGENT = "abmcrm-webhooks/1"
# Published by name: the tasks module imports this one.
DELIVER_NEXT = "webhooks.tasks.deliver_next"


def _claim_seconds():
    """How long an attempt holds its delivery: the request's connect and read timeouts and
    a margin. A worker killed mid-request loses its claim after this."""
    return 2 * settings.ABMCRM_WEBHOOK_TIMEOUT + 5


def backoff(attempts, retry_after=None):
    """Seconds before the next try after `attempts` failed ones: the receiver's Retry-After
    if it gave one, else ABMCRM_WEBHOOK_RETRY_BASE doubled each time, ±25 % jitter, at most
    ABMCRM_WEBHOOK_RETRY_MAX."""
    cap = settings.ABMCRM_WEBHOOK_RETRY_MAX
    if retry_after is not None:
        return min(max(retry_after, 0), cap)
    delay = settings.ABMCRM_WEBHOOK_RETRY_BASE * 2 ** max(attempts - 1, 0)
    return min(delay * random.uniform(0.75, 1.25), cap)


def _retry_after(value):
    """Seconds of a Retry-After header (a number or an HTTP date), or None."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return (parsedate_to_datetime(value) - timezone.now()).total_seconds()
    except (TypeError, ValueError):
        return None


@dataclass
class Attempt:
    """One claimed delivery, with what sending it needs."""

    id: int
    event_id: uuid.UUID
    event_type: str
    account_id: int | None
    body: bytes  # the request's body: the payload's JSON as the database keeps it
    attempts: int
    subscription_id: int
    url: str
    secret: str
    failing: bool  # the subscription has failed since its last success


def _claim_window(now):
    """`now`, `due` and `until` of a claim: a retry's task may arrive a moment early (clocks,
    rounding), so a head due within a second is taken."""
    return {"now": now, "due": now + timedelta(seconds=1),
            "until": now + timedelta(seconds=_claim_seconds())}


def _claim(subscription_id, account_id, now):
    """The queue's head, claimed for one attempt; None when the queue is empty, its head not
    due or held by another attempt, or the subscription inactive."""
    return _attempt(subscription_id,
                    sql.claim_head(subscription_id, account_id, **_claim_window(now)))


def _attempt(subscription_id, found):
    if found is None:
        return None
    return Attempt(id=found["id"], event_id=uuid.UUID(str(found["event"])),
                   event_type=found["event_type"], account_id=found["account_id"],
                   body=found["body"].encode(), attempts=found["attempts"],
                   subscription_id=subscription_id, url=found["url"],
                   secret=found["secret"], failing=found["failing"])


def request_body(payload):
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


# The process's HTTP connections (urllib3: `requests` on top of it cost a third of a
# delivery's CPU, reading the proxy settings from the environment on every request). A pool
# per host, connections kept alive between deliveries; thread-safe. A prefork worker's
# child makes its own (the pid tells a pool inherited through fork).
_pool = (None, None)
# Connections kept per receiver host: a process sends one delivery at a time, a threaded
# one (tests, eager tasks) a few.
CONNECTIONS_PER_HOST = 4


def _http(url):
    """The pool for `url`: through the proxy of its scheme when the environment names one
    (`HTTP_PROXY`, `HTTPS_PROXY`, read once a process, as `requests` honoured them) and
    `NO_PROXY` does not exempt its host; direct otherwise."""
    global _pool
    pid, pools = _pool
    if pools is None or pid != os.getpid():
        options = {"num_pools": 64, "maxsize": CONNECTIONS_PER_HOST, "block": False,
                   "retries": False}
        proxies = {scheme: urllib3.ProxyManager(proxy, **options)
                   for scheme, proxy in urllib.request.getproxies_environment().items()
                   if scheme in ("http", "https")}
        pools = (urllib3.PoolManager(**options), proxies)
        _pool = (os.getpid(), pools)
    direct, proxies = pools
    if proxies:
        parts = urlsplit(url)
        proxy = proxies.get(parts.scheme)
        if proxy is not None and not urllib.request.proxy_bypass_environment(
                parts.hostname or ""):
            return proxy
    return direct


def _text(raw, content_type):
    charset = "utf-8"
    for part in (content_type or "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip('"')
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return raw.decode("utf-8", errors="replace")


def post(*, url, secret, event_id, event_type, payload=None, body=None):
    """POST one delivery: `body` (bytes), or `payload` encoded. Returns (status code,
    response text, error text, Retry-After seconds or None); the code is None when no answer
    came, 0 when the URL was refused."""
    if body is None:
        body = request_body(payload)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Abmcrm-Event": event_type,
        "X-Abmcrm-Delivery": str(event_id),
        "X-Abmcrm-Timestamp": timestamp,
        "X-Abmcrm-Signature": signing.signature(secret, timestamp, body),
    }
    try:
        targets.check_before_request(url)
    except targets.TargetRefused as refused:
        return 0, "", str(refused), None
    timeout = settings.ABMCRM_WEBHOOK_TIMEOUT
    limit = settings.ABMCRM_WEBHOOK_RESPONSE_EXCERPT
    try:
        response = _http(url).request(
            "POST", url, body=body, headers=headers, redirect=False, retries=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout), preload_content=False)
        try:
            # The excerpt's worth (a character is at most 4 bytes), not a body of any size.
            raw = response.read(4 * limit)
            if len(raw) == 4 * limit and response.length_remaining != 0:
                response.close()  # the rest unread: this connection is not used again
        finally:
            response.release_conn()
    except urllib3.exceptions.NewConnectionError as exc:  # (a TimeoutError subclass)
        return None, "", f"Could not connect: {exc}", None
    except urllib3.exceptions.TimeoutError as exc:
        return None, "", f"Timed out: {exc}", None
    except (urllib3.exceptions.HTTPError, OSError) as exc:  # reset, a broken answer
        return None, "", f"{type(exc).__name__}: {exc}", None
    excerpt = _text(raw, response.headers.get("Content-Type"))[:limit]
    return response.status, excerpt, "", _retry_after(response.headers.get("Retry-After"))


def _outcome(code):
    """"delivered", "retry" or "refused" for a status code (None: no answer; 0: not sent,
    the target was refused)."""
    if code is None or code in (408, 429) or (code is not None and code >= 500):
        return "retry"
    if 200 <= code < 300:
        return "delivered"
    return "refused"


def _record(attempt, code, excerpt, error, retry_after, now, claim_next=None):
    """Write the attempt's outcome. Returns (seconds until the retry or None, whether the
    queue may hold another pending delivery, (the next attempt or None) if a claim was made
    with the record, else None).

    `claim_next`: (account id,) of a queue (the attempt's own too) whose head to claim with
    the record when the attempt was delivered, the usual case, in the same statement."""
    outcome = _outcome(code)
    fields = {"last_status_code": code or None, "response_excerpt": storable(excerpt),
              "last_error": storable(error), "claimed_until": None}
    delay = None
    if outcome == "delivered":
        fields.update(status=Status.DELIVERED, delivered_at=now, next_attempt_at=None)
    elif outcome == "refused":
        fields.update(status=Status.FAILED, next_attempt_at=None)
        if not error:
            fields["last_error"] = f"Refused with {code}: not retried (fix the receiver, then "\
                                   "redeliver)."
    elif attempt.attempts >= settings.ABMCRM_WEBHOOK_MAX_ATTEMPTS:
        fields.update(status=Status.DEAD, next_attempt_at=None)
    else:
        delay = backoff(attempt.attempts, retry_after if code == 429 else None)
        fields["next_attempt_at"] = now + timedelta(seconds=delay)
    ok = outcome == "delivered"
    if ok and not attempt.failing:  # the usual case: one statement
        if claim_next is None:
            more = sql.mark_delivered(attempt.id, attempt.subscription_id, attempt.account_id,
                                      at=now, status_code=code,
                                      excerpt=fields["response_excerpt"])
            return delay, more, None
        more, found = sql.mark_delivered_and_claim(
            attempt.id, attempt.subscription_id, attempt.account_id, at=now, status_code=code,
            excerpt=fields["response_excerpt"], next_account_id=claim_next[0],
            **_claim_window(now))
        return delay, more, (_attempt(attempt.subscription_id, found),)
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=attempt.id, status=Status.PENDING).update(**fields)
        _subscription_health(attempt.subscription_id, ok=ok, now=now)
    return delay, True, None


def _subscription_health(subscription_id, *, ok, now):
    """A success clears `failing_since`; a failure sets it, and pauses the subscription
    once it has failed for ABMCRM_WEBHOOK_PAUSE_AFTER seconds without a success."""
    subscriptions = WebhookSubscription.objects.filter(pk=subscription_id)
    if ok:
        subscriptions.filter(failing_since__isnull=False).update(failing_since=None)
        return
    if subscriptions.filter(failing_since__isnull=True).update(failing_since=now):
        return
    since = subscriptions.values_list("failing_since", flat=True).first()
    if since is None or since > now - timedelta(seconds=settings.ABMCRM_WEBHOOK_PAUSE_AFTER):
        return
    reason = (f"Every delivery failed since {since.isoformat()}: "
              "paused. Fix the receiver, then set it active again (its pending deliveries "
              "are then sent).")
    if subscriptions.filter(is_active=True).update(is_active=False, paused_at=now,
                                                   paused_reason=reason):
        transaction.on_commit(
            lambda: subscription_paused_notify(subscription_id=subscription_id))


def deliver_queue(subscription_id, account_id):
    """Send the due deliveries of one queue, in order, up to RUN_LENGTH. Returns how many
    attempts were made."""
    return deliver_queues(subscription_id, [account_id])


def deliver_queues(subscription_id, account_ids):
    """Send the due deliveries of several queues of one subscription (account ids; None: the
    events without an account), each queue in order and up to RUN_LENGTH attempts; a queue
    with more goes on in a task of its own. Returns how many attempts were made.

    The queues take turns: a queue whose head was delivered goes to the back of the line
    if it has more. The record of a delivered attempt claims the next head in line (or the
    same queue's next) in the same statement (`sql.mark_delivered_and_claim`)."""
    line = deque(dict.fromkeys(account_ids))
    made = {}
    attempt = None
    while attempt is not None or line:
        if attempt is None:
            attempt = _claim(subscription_id, line.popleft(), timezone.now())
            if attempt is None:
                continue
        account_id = attempt.account_id
        code, excerpt, error, retry_after = post(
            url=attempt.url, secret=attempt.secret, event_id=attempt.event_id,
            event_type=attempt.event_type, body=attempt.body)
        made[account_id] = made.get(account_id, 0) + 1
        # The next head to claim with the record: the next queue in line, else this one's
        # (unless it has had its run).
        if line:
            claim_next = (line.popleft(),)
        elif made[account_id] < RUN_LENGTH:
            claim_next = (account_id,)
        else:
            claim_next = None
        same = claim_next == (account_id,)
        delay, more, claimed = _record(attempt, code, excerpt, error, retry_after,
                                       timezone.now(), claim_next)
        attempt = claimed[0] if claimed is not None else None
        if claimed is None and claim_next is not None and not same:
            line.appendleft(claim_next[0])  # not claimed with the record: on its own, next
        if delay is not None:
            _publish_later(subscription_id, account_id, delay)
        elif more and not (same and claimed is not None):
            # The queue has more, and its next head was not just claimed (or found not due).
            if made[account_id] < RUN_LENGTH:
                line.append(account_id)
            else:
                _publish_later(subscription_id, account_id, 0)
    return sum(made.values())


def _publish_later(subscription_id, account_id, delay):
    """Queue the queue's task again in `delay` seconds (not when tasks run eagerly: the
    tests drive retries). A broker that is down is logged: the sweeper queues the queue
    once its head is overdue."""
    publish_later(delay + 0.2, DELIVER_NEXT, subscription_id, account_id)


def deliveries_redrive(*, now=None):
    """The sweeper: queue every queue whose head is overdue by ABMCRM_WEBHOOK_STUCK_AFTER
    seconds and not claimed (its task was lost: the broker was down, or its worker was
    killed mid-request). Returns {"queued", "not_queued"}."""
    now = now or timezone.now()
    stuck = now - timedelta(seconds=settings.ABMCRM_WEBHOOK_STUCK_AFTER)
    queues = (WebhookDelivery.objects
              .filter(status=Status.PENDING, subscription__is_active=True,
                      next_attempt_at__lte=stuck)
              .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
              .order_by().values_list("subscription_id", "account_id").distinct())
    counts = {"queued": 0, "not_queued": 0}
    for subscription_id, account_id in list(queues[:SWEEP_BATCH]):
        if publish(DELIVER_NEXT, subscription_id, account_id):
            counts["queued"] += 1
        else:
            counts["not_queued"] += 1
    return counts
