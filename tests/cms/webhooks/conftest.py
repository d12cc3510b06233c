"""A real webhook receiver: an HTTP server on 127.0.0.1 in a thread."""

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cms.webhooks.models import WebhookEndpoint
from cms.webhooks.signing import signature_verify
from tests.generation.conftest import library, library_committed  # noqa: F401

SECRET = "test-secret-0123456789"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when the request arrived

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    def signed_by(self, secret: str) -> bool:
        return signature_verify(
            secret=secret, body=self.body, header=self.headers["X-Webhook-Signature"]
        )


class Receiver:
    """Answers each POST with the next scripted status (then 200); records all."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: list[int] = []
        self.hold_seconds = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    Received(dict(self.headers), body, time.monotonic())
                )
                time.sleep(receiver.hold_seconds)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver is down")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, *, seconds: float) -> list[Received]:
        deadline = time.monotonic() + seconds
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.requests

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def make_endpoint():
    def make(url: str, *events: str, **fields) -> WebhookEndpoint:
        return WebhookEndpoint.objects.create(
            url=url, secret=SECRET, events=list(events), **fields
        )

    return make
