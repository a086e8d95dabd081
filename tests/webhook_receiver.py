"""A real webhook receiver on 127.0.0.1 for the tests: an HTTP server in a thread that
checks every delivery with the Standard Webhooks specification's own library
(`standardwebhooks`), never with the API's code, and answers as the test says."""

from __future__ import annotations

import base64
import os
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support import free_port


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode("ascii")


@dataclass(frozen=True)
class Received:
    id: str
    body: bytes
    headers: dict[str, str]
    #: For each secret the receiver knows: the payload Webhook.verify returned, or None.
    verified: tuple[Any, ...]
    answered: int
    at: float


class Receiver:
    """Answers `status` (after `delay` seconds) until told otherwise; `stop()` takes it
    down (connections refused) and `start()` brings it back on the same port."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = secrets
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.status = 200
        self.delay = 0.0
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died mid-request (a test kills it): nothing was delivered,
                    # as a web framework reading the body would say too.
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = []
                for secret in receiver.secrets:
                    try:
                        verified.append(Webhook(secret).verify(body, headers))
                    except WebhookVerificationError:
                        verified.append(None)
                status = receiver.status
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.received.append(
                        Received(
                            headers.get("webhook-id", ""),
                            body,
                            headers,
                            tuple(verified),
                            status,
                            time.time(),
                        )
                    )
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def delivered_ids(self) -> set[str]:
        return {r.id for r in self.snapshot() if 200 <= r.answered < 300}
