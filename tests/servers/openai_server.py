"""A scripted OpenAI-compatible chat server on 127.0.0.1: queued replies, faults, a request log.

Run alone (benchmarks): `python -m tests.servers.openai_server --delay 0.3` prints its base URL.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_MARKED = re.compile(r"^ARTICLE (\w+)\n(.*?)\nEND \1$", re.S | re.M)
_SENTENCES = re.compile(r"(?<=[.!?])\s+")
# `[12] Sentence text.` as a sentence-number prompt shows the article.
_NUMBERED = re.compile(r"\[(\d+)\] (.*?)(?=\s*\[\d+\] |\n|$)", re.S)


@dataclass
class Reply:
    """One scripted answer: a completion, an HTTP error, a delay or a dropped connection."""

    content: str | dict | None = None
    status: int = 200
    finish_reason: str = "stop"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    error: str = "scripted error"
    drop: bool = False
    cached_tokens: int = 0


def article_of(request: dict[str, Any]) -> str:
    """Return the article text between the ARTICLE/END markers of a chat request."""
    for message in request.get("messages", []):
        match = _MARKED.search(message.get("content", ""))
        if match:
            return match.group(2)
    return ""


def topic_slugs(request: dict[str, Any]) -> list[str]:
    """Return the topic slugs a request's JSON schema allows (empty when not enforced)."""
    schema = (request.get("response_format") or {}).get("json_schema", {}).get("schema", {})
    slug = schema.get("$defs", {}).get("TopicScore", {}).get("properties", {}).get("slug", {})
    return list(slug.get("enum", []))


def wants_sentence_ids(request: dict[str, Any]) -> bool:
    """Return True when the request's schema asks for sentence numbers (`cite`), not quotes."""
    schema = json.dumps(request.get("response_format") or {})
    system = next((m.get("content", "") for m in request.get("messages", [])
                   if m.get("role") == "system"), "")  # fmt: skip
    return '"cite"' in schema or '"cite"' in system  # other modes carry the schema in the system


def numbered_sentences(request: dict[str, Any]) -> list[tuple[int, str]]:
    """Return the (number, sentence) pairs of a request's numbered article."""
    text = article_of(request)
    return [(int(m.group(1)), " ".join(m.group(2).split())) for m in _NUMBERED.finditer(text)]


def grounded_card(request: dict[str, Any]) -> dict[str, Any]:
    """Return a schema-valid card citing the request's article: quotes, or sentence numbers."""
    if wants_sentence_ids(request):
        return numbered_card(request)
    text = article_of(request)
    sentences = [s.strip() for s in _SENTENCES.split(" ".join(text.split())) if len(s) > 30]
    sentences = (sentences or [text.strip() or "No text was given for this article."]) * 4

    def point(sentence: str) -> dict[str, Any]:
        quote = " ".join(sentence.split()[:18])
        return {"text": f"The article reports: {quote[:200]}", "citations": [quote]}

    slugs = topic_slugs(request)
    return {
        "title": sentences[0][:90],
        "hook": sentences[1][:150],
        "tldr": {"what_changed": sentences[0][:300], "why_it_matters": sentences[1][:300],
                 "what_to_do_next": "Read the source and check whether it affects your stack."},
        "key_takeaways": [point(s) for s in sentences[:3]],
        "technical_deep_dive": [],
        "future_implications": [point(sentences[3])],
        "topics": [{"slug": slugs[0], "score": 0.8}] if slugs else [],
        "entities": [],
        "timeliness": "time-bound",
    }  # fmt: skip


def numbered_card(request: dict[str, Any]) -> dict[str, Any]:
    """Return a schema-valid card whose points cite real sentence numbers of the article."""
    pairs = numbered_sentences(request) or [(1, "No text was given for this article.")]
    pairs = pairs * 4

    def point(number: int, sentence: str) -> dict[str, Any]:
        return {"text": f"The article reports: {sentence[:120]}", "cite": [number]}

    slugs = topic_slugs(request)
    return {
        "title": pairs[0][1][:80],
        "hook": pairs[1][1][:120],
        "tldr": {"what_changed": pairs[0][1][:200], "why_it_matters": pairs[1][1][:200],
                 "what_to_do_next": "Read the source and check whether it affects your stack."},
        "key_takeaways": [point(*pair) for pair in pairs[:3]],
        "technical_deep_dive": [],
        "future_implications": [point(*pairs[3])],
        "topics": [{"slug": slugs[0], "score": 0.8}] if slugs else [],
        "entities": [],
        "timeliness": "time-bound",
    }  # fmt: skip


def grounded_responder(request: dict[str, Any]) -> Reply:
    """Return a reply carrying `grounded_card` (the default when the queue is empty)."""
    return Reply(content=grounded_card(request))


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is what the fault tests do on purpose.
        pass


class FakeOpenAI:
    """The server: `enqueue` replies, read `requests`; unscripted calls get `responder`."""

    def __init__(
        self,
        responder: Callable[[dict], Reply] = grounded_responder,
        delay: float = 0.0,
        reject_formats: set[str] | None = None,
    ):
        self.responder = responder
        self.delay = delay
        self.reject_formats = reject_formats or set()
        self.queue: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.httpd = _QuietServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        """Return the base URL clients use (…/v1)."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def enqueue(self, *replies: Reply | dict | str) -> None:
        """Queue replies, served in order before falling back to the responder."""
        with self.lock:
            for reply in replies:
                self.queue.append(reply if isinstance(reply, Reply) else Reply(content=reply))

    def next_reply(self, request: dict[str, Any]) -> Reply:
        """Return the reply for a request: refusal of a rejected format, the queue, or responder."""
        kind = (request.get("response_format") or {}).get("type")
        if kind in self.reject_formats:
            return Reply(status=400, error=f"response_format type {kind} is not supported")
        with self.lock:
            if self.queue:
                return self.queue.popleft()
        return self.responder(request)

    def start(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def completion_body(request: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """Return an OpenAI chat.completion object for a reply."""
    content = reply.content
    text = json.dumps(content) if isinstance(content, dict) else (content or "")
    prompt_chars = sum(len(m.get("content", "")) for m in request.get("messages", []))
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}", "object": "chat.completion",
        "created": int(time.time()), "model": request.get("model", "fake"),
        "choices": [{"index": 0, "finish_reason": reply.finish_reason,
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt_chars // 4 + 1, "completion_tokens": len(text) // 4 + 1,
                  "total_tokens": (prompt_chars + len(text)) // 4 + 2,
                  "prompt_tokens_details": {"cached_tokens": reply.cached_tokens}},
    }  # fmt: skip


def _handler(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            with server.lock:
                server.requests.append(
                    {
                        "path": self.path,
                        "body": request,
                        "authorization": self.headers.get("Authorization"),
                    }
                )
            reply = server.next_reply(request)
            time.sleep(reply.delay or server.delay)
            if reply.drop:
                self.close_connection = True
                self.connection.close()
                return
            if reply.status == 200:
                body = completion_body(request, reply)
            else:
                body = {"error": {"message": reply.error, "type": "scripted", "code": None}}
            self._send(reply.status, body, reply.headers)

        def setup(self) -> None:
            super().setup()
            # Without this, Nagle's algorithm and delayed ACKs add ~40 ms to each answer.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _send(self, status: int, body: dict, headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            # Headers and body in one write (end_headers would send the headers alone).
            self._headers_buffer.append(b"\r\n" + data)
            self.flush_headers()

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args()
    server = FakeOpenAI(delay=args.delay)
    print(server.url, flush=True)
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
