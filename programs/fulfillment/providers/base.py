"""The provider interface, and an HTTP JSON client with the error classification the
fulfillment task relies on: transient errors are retried, permanent ones fail the order."""

import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import urllib3

# The longest event id, type and data field a webhook may carry (ProviderEvent's columns).
MAX_EVENT_ID, MAX_EVENT_TYPE, MAX_EVENT_FIELD = 200, 100, 200


class ProviderError(Exception):
    def __init__(self, message, *, status=None):
        super().__init__(message)
        self.message = message
        self.status = status


class TransientError(ProviderError):
    """Worth retrying: a timeout, a connection error, a 5xx or a 429."""


class PermanentError(ProviderError):
    """Retrying will not help (a 4xx): the order fails with the provider's message."""


@dataclass
class SendResult:
    """What the provider says about a send. `status` is "accepted" (on its way; a webhook
    follows), "delivered" (done) or "failed" (with `message`)."""

    external_id: str
    status: str = "accepted"
    message: str = ""
    raw: dict = field(default_factory=dict)


class WebhookRefused(Exception):
    """A webhook that is not authentic or not fresh: answered 401, nothing changes."""

    def __init__(self, message, *, code):
        super().__init__(message)
        self.message, self.code = message, code


@dataclass
class WebhookEvent:
    event_id: str
    kind: str
    outcome: str | None  # "delivered", "failed" or None (an event we don't act on)
    external_id: str = ""
    idempotency_key: str = ""
    message: str = ""


class Provider:
    """Base class. `automatic = False` means nothing is sent: a marketer fulfils by hand."""

    automatic = True
    signature_header = "X-Abmcrm-Signature"
    timestamp_header = "X-Abmcrm-Timestamp"

    def __init__(self, *, name, base_url="", api_key_env="", webhook_secret_env="",
                 timeout=10, **options):
        self.name = name
        self.base_url = (base_url or "").rstrip("/")
        self.api_key_env = api_key_env
        self.webhook_secret_env = webhook_secret_env
        self.timeout = float(timeout)
        self.options = options

    def __str__(self):
        return self.name

    # Sending ---------------------------------------------------------------------------

    def send(self, fulfillment):
        """Ask the provider to fulfil; the fulfillment's idempotency key guards it."""
        raise NotImplementedError

    def lookup(self, fulfillment):
        """What the provider knows of this fulfillment's idempotency key: a SendResult, or
        None if it never received it."""
        raise NotImplementedError

    def find_by_idempotency_key(self, path, fulfillment, to_result):
        """`GET {path}?idempotency_key=…` answering `{"results": [...]}`: the first result
        through `to_result`, or None."""
        found = self.request(
            "GET", f"{path}?idempotency_key={quote(fulfillment.idempotency_key)}"
        )
        results = found.get("results") or []
        return to_result(results[0]) if results else None

    def webhook_envelope(self, payload):
        """(event id, type, data, status) of a webhook body `{"id", "type": "x.status",
        "data": {…}}`, the shape both shipped providers use; ValueError, saying what is
        wrong, for any other shape."""
        if not isinstance(payload, dict):
            raise ValueError(f"A {self.name} webhook is a JSON object with `id`, `type` and "
                             "`data`.")
        event_id, kind, data = payload.get("id"), payload.get("type"), payload.get("data")
        if isinstance(event_id, bool) or not isinstance(event_id, str | int) or not (
                0 < len(str(event_id)) <= MAX_EVENT_ID):
            raise ValueError(f"A {self.name} webhook's `id` is a string or number of 1 to "
                             f"{MAX_EVENT_ID} characters.")
        if not isinstance(kind, str) or not (0 < len(kind) <= MAX_EVENT_TYPE):
            raise ValueError(f"A {self.name} webhook's `type` is a string of 1 to "
                             f"{MAX_EVENT_TYPE} characters, e.g. “gift.delivered”.")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ValueError(f"A {self.name} webhook's `data` is an object.")
        return str(event_id), kind, data, kind.rsplit(".", 1)[-1]

    @staticmethod
    def webhook_text(data, key, *, limit=MAX_EVENT_FIELD):
        """`data[key]` as text for a WebhookEvent ("" if absent); ValueError if it is not a
        string or number of at most `limit` characters."""
        value = data.get(key)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f"The webhook's `data.{key}` is a string.")
        text = str(value)
        if len(text) > limit:
            raise ValueError(f"The webhook's `data.{key}` is longer than {limit} characters.")
        return text

    # Webhooks --------------------------------------------------------------------------

    def webhook_secret(self):
        return os.environ.get(self.webhook_secret_env, "") if self.webhook_secret_env else ""

    def signature(self, body, timestamp):
        """`sha256=<hex>`: HMAC-SHA256, keyed with the shared secret, of the timestamp (Unix
        seconds, as sent in the timestamp header), a dot, and the raw body."""
        secret = self.webhook_secret()
        signed = str(timestamp).encode() + b"." + body
        return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()

    def check_signature(self, body, headers, *, now=None):
        """Refuse (WebhookRefused) a webhook whose signature does not match the timestamp and
        body, or whose timestamp is further than ABMCRM_WEBHOOK_TOLERANCE_SECONDS from now:
        a captured request can't be replayed later, nor altered. With no secret configured
        every webhook is refused."""
        from ...conf import settings as conf

        given = headers.get(self.signature_header, "").strip()
        timestamp = headers.get(self.timestamp_header, "").strip()
        if not self.webhook_secret() or not given:
            raise WebhookRefused("Missing or bad signature.", code="bad_signature")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise WebhookRefused(f"Missing or bad {self.timestamp_header} header (Unix "
                                 "seconds).", code="bad_timestamp")
        # Bytes: a header may hold any characters, which compare_digest refuses as str.
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                                   self.signature(body, timestamp).encode()):
            raise WebhookRefused("Missing or bad signature.", code="bad_signature")
        tolerance = conf.ABMCRM_WEBHOOK_TOLERANCE_SECONDS
        skew = abs((now if now is not None else time.time()) - int(timestamp))
        if skew > tolerance:
            raise WebhookRefused(f"The timestamp is {skew:.0f} seconds from now; at most "
                                 f"{tolerance} are accepted.", code="stale_timestamp")

    def verify_signature(self, body, headers):
        """Whether the webhook is authentic and fresh (see `check_signature`)."""
        try:
            self.check_signature(body, headers)
        except WebhookRefused:
            return False
        return True

    def parse_webhook(self, payload):
        """A WebhookEvent from the JSON payload; ValueError if it is not one."""
        raise ValueError(f"The {self.name} provider takes no webhooks.")

    # HTTP ------------------------------------------------------------------------------

    def api_key(self):
        return os.environ.get(self.api_key_env, "") if self.api_key_env else ""

    def request(self, method, path, *, body=None, idempotency_key=None):
        """One JSON request; returns the decoded body. Raises TransientError or
        PermanentError, never anything else."""
        if not self.base_url:
            raise PermanentError(f"The {self.name} provider has no base_url configured.")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json", "User-Agent": "abmcrm"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key():
            headers["Authorization"] = f"Bearer {self.api_key()}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            response = _pool().request(
                method, self.base_url + path, body=data, headers=headers,
                timeout=urllib3.Timeout(total=self.timeout), retries=False,
                preload_content=True, redirect=False,
            )
        except urllib3.exceptions.NewConnectionError as exc:  # (a TimeoutError subclass)
            raise TransientError(f"Could not reach {self.name}: {exc}") from exc
        except urllib3.exceptions.TimeoutError as exc:
            raise TransientError(f"{self.name} did not answer within {self.timeout:g} s.") \
                from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise TransientError(f"Could not reach {self.name}: {reason}") from exc
        if response.status >= 400:
            text = f"{self.name} answered {response.status}: {_error_message(response)}"
            if response.status == 429 or response.status >= 500:
                raise TransientError(text, status=response.status)
            raise PermanentError(text, status=response.status)
        try:
            return json.loads(response.data) if response.data else {}
        except ValueError as exc:
            raise TransientError(f"{self.name} answered with something that is not JSON.") \
                from exc


_pools = {}


def _pool():
    """This process's connection pool: connections to a provider are kept alive between
    sends (a TLS handshake per order would cost more than the rest of its fulfillment). Per
    process, so that a forked worker child never shares its parent's sockets."""
    pid = os.getpid()
    if pid not in _pools:
        _pools.clear()
        _pools[pid] = urllib3.PoolManager(num_pools=20, maxsize=16, block=False)
    return _pools[pid]


def _error_message(response):
    raw = response.data or b""
    try:
        payload = json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")[:500] or response.reason or ""
    if isinstance(payload, dict):
        for key in ("error", "message", "detail"):
            value = payload.get(key)
            if isinstance(value, dict):
                value = value.get("message") or json.dumps(value)
            if value:
                return str(value)[:500]
    return json.dumps(payload)[:500]
