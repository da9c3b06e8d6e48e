"""A fake gifting platform and ad platform: a small real HTTP server on 127.0.0.1.

It speaks the APIs of programs/fulfillment/providers/gifting.py and ad_audience.py, honours the
`Idempotency-Key` header like a real provider (a repeated key returns the first answer and
creates nothing), records every request, and can be told to fail, to answer slowly, or to
hang past the client's timeout. Used by the tests and by bench/fulfillment.py.
"""

import contextlib
import hashlib
import hmac
import itertools
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: dict | None
    at: float = field(default_factory=time.monotonic)


class FakeProvider:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.gifts = {}     # idempotency key → gift
        self.members = {}   # idempotency key → audience member
        self.delay = 0.0    # seconds each create waits (after recording) before answering
        self.gift_status = "processing"
        self._failures = []  # [(status, message)] for the next creates
        self._hangs = []     # [seconds] for the next creates: hang, then drop, create nothing
        self._ids = itertools.count(1)
        self.server = None

    # Control -------------------------------------------------------------------------------

    def start(self):
        fake = self

        class Handler(_Handler):
            provider = fake

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default backlog of 5 drops concurrent connects
            daemon_threads = True
            open_sockets = set()

            def get_request(self):
                connection, address = super().get_request()
                self.open_sockets.add(connection)
                return connection, address

            def shutdown_request(self, request):
                self.open_sockets.discard(request)
                super().shutdown_request(request)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.handle_error = lambda request, address: None  # a client that hung up
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            # Kept-alive connections too: a client must not reach this stopped fake through
            # a pooled connection (a later fake may listen on the same port).
            for connection in list(self.server.open_sockets):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, count=1, status=500, message="Internal error, try again"):
        with self.lock:
            self._failures.extend([(status, message)] * count)

    def hang_next(self, count=1, seconds=3.0):
        with self.lock:
            self._hangs.extend([seconds] * count)

    def reset(self):
        with self.lock:
            self.requests.clear()
            self.gifts.clear()
            self.members.clear()
            self._failures.clear()
            self._hangs.clear()
            self.delay = 0.0
            self.gift_status = "processing"

    # Reading -------------------------------------------------------------------------------

    def posts(self, prefix="/v1/"):
        with self.lock:
            return [r for r in self.requests if r.method == "POST" and r.path.startswith(prefix)]

    def created(self):
        """Everything the provider actually created (gifts and audience members)."""
        with self.lock:
            return list(self.gifts.values()) + list(self.members.values())

    # Serving -------------------------------------------------------------------------------

    def _next(self, queue):
        with self.lock:
            return queue.pop(0) if queue else None

    def create(self, kind, key, body):
        """A create request: returns (status, answer)."""
        failure = self._next(self._failures)
        if failure:
            return failure[0], {"error": {"message": failure[1]}}
        hang = self._next(self._hangs)
        if hang:
            time.sleep(hang)
            return None, None
        if not key:
            return 400, {"error": {"message": "Idempotency-Key header is required"}}
        store = self.gifts if kind == "gift" else self.members
        with self.lock:
            existing = store.get(key)
            if existing is None:
                existing = {
                    "id": f"{kind}_{next(self._ids)}", "idempotency_key": key,
                    "status": self.gift_status if kind == "gift" else "active",
                    "request": body,
                }
                store[key] = existing
                status = 201
            else:
                status = 200
        if self.delay:
            time.sleep(self.delay)
        return status, {k: v for k, v in existing.items() if k != "request"}

    def find(self, kind, key):
        store = self.gifts if kind == "gift" else self.members
        with self.lock:
            found = [{k: v for k, v in item.items() if k != "request"}
                     for item in store.values() if item["idempotency_key"] == key]
        return 200, {"results": found}


class _Handler(BaseHTTPRequestHandler):
    provider: FakeProvider
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers offer
    # Buffered, so headers and body leave in one segment (no Nagle/delayed-ACK stall).
    wbufsize = 1 << 16

    def log_message(self, *args):
        pass

    def _answer(self, status, body):
        if status is None:
            self.close_connection = True
            return
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self, body=None):
        recorded = Recorded(self.command, self.path, dict(self.headers.items()), body)
        with self.provider.lock:
            self.provider.requests.append(recorded)

    def _kind(self, path):
        if path == "/v1/gifts":
            return "gift"
        if path.startswith("/v1/audiences/") and path.endswith("/members"):
            return "member"
        return None

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = None
        self._record(body)
        kind = self._kind(urlparse(self.path).path)
        if kind is None:
            return self._answer(404, {"error": {"message": "No such endpoint"}})
        if body is None:
            return self._answer(400, {"error": {"message": "Body is not JSON"}})
        self._answer(*self.provider.create(kind, self.headers.get("Idempotency-Key"), body))

    def do_GET(self):
        self._record()
        url = urlparse(self.path)
        kind = self._kind(url.path)
        if kind is None:
            return self._answer(404, {"error": {"message": "No such endpoint"}})
        key = parse_qs(url.query).get("idempotency_key", [""])[0]
        self._answer(*self.provider.find(kind, key))


def sign(body, secret, timestamp):
    """The signature header value a provider sends with a webhook body (bytes) at
    `timestamp` (Unix seconds): HMAC-SHA256 of `<timestamp>.<body>`."""
    signed = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def webhook_headers(body, secret, timestamp=None):
    """The headers a provider sends with a webhook body, signed now (or at `timestamp`), as
    {header name: value}."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return {"X-Abmcrm-Timestamp": str(timestamp),
            "X-Abmcrm-Signature": sign(body, secret, timestamp)}
