"""A webhook receiver on 127.0.0.1: records each POST, answers with scripted statuses, can hang."""

from __future__ import annotations

import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """Records (headers, body) per delivery; `statuses` are answered in order, then 204."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.statuses: deque[int] = deque()
        self.hang = threading.Event()  # set: hold the next request (the sender gets killed)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                if owner.hang.is_set():
                    time.sleep(30)
                status = owner.statuses.popleft() if owner.statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
