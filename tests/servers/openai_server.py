"""A scripted OpenAI-compatible chat server on 127.0.0.1: queued replies, faults, a request log.

It also speaks the Batch API's remote side: `/v1/files` (upload, content), `/v1/batches`
(create, list, retrieve); a batch completes after `batch_polls` retrievals, each line
answered like a live request (the queue, then the responder).

Run alone (benchmarks): `python -m tests.servers.openai_server --delay 0.3` prints its base URL.
"""

from __future__ import annotations

import argparse
import email
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
        # response_format types refused ("json_object+schema": json_object carrying `schema`),
        # with this status and message (real servers differ: 400, 422, llama-cpp-python 500).
        self.reject_formats = reject_formats or set()
        self.reject_status = 400
        self.reject_message: str | None = None
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_polls = 1
        # Wall-clock time of the first chat request received and the last answer sent.
        self.first_request_at: float | None = None
        self.last_answer_at: float | None = None
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
        fmt = request.get("response_format") or {}
        kinds = {fmt.get("type"), "json_object+schema" if "schema" in fmt else None}
        refused = sorted(k for k in kinds & self.reject_formats if k)
        if refused:
            message = self.reject_message or f"response_format type {refused[0]} is not supported"
            return Reply(status=self.reject_status, error=message)
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

        def do_GET(self) -> None:
            status, body = batch_get(server, self.path)
            if isinstance(body, bytes):
                self._send_bytes(status, body, "application/jsonl")
            else:
                self._send(status, body, {})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.startswith(("/v1/files", "/v1/batches")):
                self._send(*batch_post(server, self.path, self.headers, raw), {})
                return
            request = json.loads(raw or b"{}")
            if server.first_request_at is None:
                server.first_request_at = time.time()
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
            server.last_answer_at = time.time()

        def setup(self) -> None:
            super().setup()
            # Without this, Nagle's algorithm and delayed ACKs add ~40 ms to each answer.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _send(self, status: int, body: dict, headers: dict[str, str]) -> None:
            self._send_bytes(status, json.dumps(body).encode(), "application/json", headers)

        def _send_bytes(self, status: int, data: bytes, kind: str,
                        headers: dict[str, str] | None = None) -> None:  # fmt: skip
            headers = headers or {}
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            # Headers and body in one write (end_headers would send the headers alone).
            self._headers_buffer.append(b"\r\n" + data)
            self.flush_headers()

    return Handler


def _multipart_fields(headers: Any, raw: bytes) -> dict[str, bytes]:
    """Return the fields of a multipart/form-data body (the SDK's file upload)."""
    head = f"Content-Type: {headers.get('Content-Type')}\r\n\r\n".encode()
    message = email.message_from_bytes(head + raw)
    return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
            for part in message.get_payload()}  # fmt: skip


def batch_post(server: FakeOpenAI, path: str, headers: Any, raw: bytes) -> tuple[int, dict]:
    """Return (status, body) of an upload or a batch creation."""
    with server.lock:
        server.requests.append({"path": path, "body": None if "files" in path else json.loads(raw)})
        if path == "/v1/files":
            fields = _multipart_fields(headers, raw)
            file_id = f"file-{len(server.files) + 1}"
            server.files[file_id] = fields["file"]
            return 200, {"id": file_id, "object": "file", "bytes": len(fields["file"]),
                         "created_at": int(time.time()), "filename": "batch.jsonl",
                         "purpose": (fields.get("purpose") or b"batch").decode()}  # fmt: skip
        request = json.loads(raw)
        if request.get("input_file_id") not in server.files:
            return 404, {"error": {"message": "input file not found", "type": "invalid_request"}}
        batch_id = f"batch_{len(server.batches) + 1}"
        server.batches[batch_id] = batch = {
            "id": batch_id, "object": "batch", "endpoint": request["endpoint"],
            "input_file_id": request["input_file_id"], "status": "validating",
            "completion_window": request["completion_window"], "created_at": int(time.time()),
            "metadata": request.get("metadata"), "output_file_id": None, "error_file_id": None,
            "polls": 0,
        }  # fmt: skip
        return 200, _public(batch)


def _public(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if k != "polls"}


def batch_get(server: FakeOpenAI, path: str) -> tuple[int, dict | bytes]:
    """Return (status, body) of a batch retrieval or listing, a file's content, or timings."""
    parts = path.split("?")[0].strip("/").split("/")
    if parts == ["_stats"]:  # for benchmarks: the span the server saw, and how many requests
        return 200, {"first_request_at": server.first_request_at,
                     "last_answer_at": server.last_answer_at,
                     "requests": len(server.requests)}  # fmt: skip
    if parts[:2] == ["v1", "files"] and len(parts) == 4 and parts[3] == "content":
        content = server.files.get(parts[2])
        return (200, content) if content is not None else (404, {"error": {"message": "no file"}})
    if parts == ["v1", "batches"]:
        with server.lock:
            data = [_public(b) for b in reversed(server.batches.values())]
        return 200, {"object": "list", "data": data, "has_more": False}
    if parts[:2] == ["v1", "batches"] and len(parts) == 3 and parts[2] in server.batches:
        batch = server.batches[parts[2]]
        batch["polls"] += 1
        if batch["status"] != "completed" and batch["polls"] >= server.batch_polls:
            _run_batch(server, batch)
        elif batch["status"] == "validating":
            batch["status"] = "in_progress"
        return 200, _public(batch)
    return 404, {"error": {"message": f"no route {path}"}}


def _run_batch(server: FakeOpenAI, batch: dict[str, Any]) -> None:
    """Answer every line of a batch's input file; successes and failures go to two files."""
    done, failed = [], []
    for line in server.files[batch["input_file_id"]].decode().splitlines():
        entry = json.loads(line)
        request = entry["body"]
        with server.lock:
            server.requests.append({"path": "batch:" + entry["url"], "body": request})
        reply = server.next_reply(request)
        if reply.status == 200:
            response = {"status_code": 200, "request_id": entry["custom_id"],
                        "body": completion_body(request, reply)}  # fmt: skip
            done.append({"id": f"r-{entry['custom_id']}", "custom_id": entry["custom_id"],
                         "response": response, "error": None})  # fmt: skip
        else:
            failed.append({"id": f"r-{entry['custom_id']}", "custom_id": entry["custom_id"],
                           "response": None, "error": {"code": str(reply.status),
                                                       "message": reply.error}})  # fmt: skip
    for key, lines in (("output_file_id", done), ("error_file_id", failed)):
        if lines:
            file_id = f"file-{len(server.files) + 1}"
            server.files[file_id] = "".join(json.dumps(x) + "\n" for x in lines).encode()
            batch[key] = file_id
    batch["status"] = "completed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args()
    server = FakeOpenAI(delay=args.delay)
    print(server.url, flush=True)
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
