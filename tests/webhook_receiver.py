"""A webhook receiver: a small real HTTP server on 127.0.0.1 that records every request
(headers, body, time) and answers as told: a list of scripted answers for the next requests
(a status, optionally with headers, or "hang" to sleep past the client's timeout), then
`default_status` after `delay` seconds. Used by the webhooks tests and bench/webhooks.py."""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict
    raw: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def body(self):
        return json.loads(self.raw)

    @property
    def delivery(self):
        return self.headers["X-Abmcrm-Delivery"]


class Receiver:
    def __init__(self, *, delay=0.0, default_status=200):
        self.lock = threading.Lock()
        self.received = []
        self.delay = delay
        self.default_status = default_status
        self.script = []  # [(status, headers) or ("hang", seconds)] for the next requests
        self.server = None

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes: without TCP_NODELAY the body waits for
            # the client's delayed ACK (40 ms) on a kept-alive connection, as no production
            # server lets it.
            disable_nagle_algorithm = True

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.received.append(Received(dict(self.headers), raw))
                    step = receiver.script.pop(0) if receiver.script else None
                if step and step[0] == "hang":
                    time.sleep(step[1])
                    self.close_connection = True
                    return
                status, headers = step if step else (receiver.default_status, {})
                if receiver.delay:
                    time.sleep(receiver.delay)
                body = b'{"ok": true}' if status < 300 else b'{"error": "try later"}'
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def count(self):
        with self.lock:
            return len(self.received)

    def snapshot(self):
        with self.lock:
            return list(self.received)
