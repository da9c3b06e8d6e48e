import uuid

import pytest
from django.utils import timezone

from tests.factories import AccountFactory, ProgramItemFactory, RepFactory, tier


def make_event(type, account, data=None, *, save=False):
    """An outbox event as the apps below write it (saved only when `save`)."""
    from abmcrm.core.models import OutboxEvent

    event = OutboxEvent(id=uuid.uuid4(), type=type, account_id=account.pk, data=data or {},
                        occurred_at=timezone.now())
    if save:
        event.save()
    return event


@pytest.fixture
def owner(db):
    return RepFactory(username="owner1", first_name="Olive")


@pytest.fixture
def account(owner):
    return AccountFactory(name="Acme", owner=owner, tier=tier(1), fit_score=82,
                          surging_topics=["crm software"])


@pytest.fixture
def items(db):
    """Two items on tier 1's menu, one on tier 2's only."""
    return [ProgramItemFactory(name="Gift box", menu_tiers=[1]),
            ProgramItemFactory(name="Custom ad", kind="account_based_ad", menu_tiers=[1, 2]),
            ProgramItemFactory(name="Webinar", kind="event_invitation", menu_tiers=[2])]


class SlackReceiver:
    """A Slack incoming webhook stand-in: a real HTTP server on 127.0.0.1 recording each
    POSTed JSON body (answers `status`, 200 by default)."""

    def __init__(self):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        receiver = self
        self.posts, self.status = [], 200
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                with receiver.lock:
                    receiver.posts.append({"path": self.path, "body": body,
                                           "type": self.headers.get("Content-Type")})
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack():
    receiver = SlackReceiver()
    yield receiver
    receiver.close()
