"""The provider interface, and an HTTP JSON client with the error classification the
fulfilment task relies on: transient errors are retried, permanent ones fail the order."""

import hashlib
import hmac
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import quote


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
        "data"}`, the shape both shipped providers use."""
        try:
            event_id, kind, data = payload["id"], payload["type"], payload.get("data") or {}
        except (KeyError, TypeError) as exc:
            raise ValueError(f"A {self.name} webhook needs `id`, `type` and `data`.") from exc
        return str(event_id), str(kind), data, str(kind).rsplit(".", 1)[-1]

    # Webhooks --------------------------------------------------------------------------

    def webhook_secret(self):
        return os.environ.get(self.webhook_secret_env, "") if self.webhook_secret_env else ""

    def signature(self, body):
        secret = self.webhook_secret()
        return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

    def verify_signature(self, body, headers):
        """HMAC-SHA256 of the raw body with the shared secret, compared in constant time.
        With no secret configured every webhook is refused."""
        given = headers.get(self.signature_header, "")
        if not self.webhook_secret() or not given:
            return False
        return hmac.compare_digest(given.strip(), self.signature(body))

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
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers,
                                         method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            message = _error_message(exc)
            text = f"{self.name} answered {exc.code}: {message}"
            if exc.code == 429 or exc.code >= 500:
                raise TransientError(text, status=exc.code) from exc
            raise PermanentError(text, status=exc.code) from exc
        except TimeoutError as exc:
            raise TransientError(f"{self.name} did not answer within {self.timeout:g} s.") \
                from exc
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise TransientError(
                    f"{self.name} did not answer within {self.timeout:g} s.") from exc
            raise TransientError(f"Could not reach {self.name}: {reason}") from exc
        try:
            return json.loads(raw) if raw else {}
        except ValueError as exc:
            raise TransientError(f"{self.name} answered with something that is not JSON.") \
                from exc


def _error_message(exc):
    try:
        raw = exc.read()
    except Exception:  # noqa: BLE001 - the status alone must do
        raw = b""
    try:
        payload = json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")[:500] or exc.reason
    if isinstance(payload, dict):
        for key in ("error", "message", "detail"):
            value = payload.get(key)
            if isinstance(value, dict):
                value = value.get("message") or json.dumps(value)
            if value:
                return str(value)[:500]
    return json.dumps(payload)[:500]
