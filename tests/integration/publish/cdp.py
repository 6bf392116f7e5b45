"""A minimal Chrome DevTools Protocol client over a stdlib websocket, for the browser tests."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("AGGREGATOR_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--mute-audio",
]


def chromium_path() -> str | None:
    """Return the Chromium executable, or None when it is not installed."""
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    return shutil.which("chromium")


class _WebSocket:
    """Just enough of RFC 6455 for CDP: masked text frames out, unmasked frames in."""

    def __init__(self, url: str, timeout: float = 20):
        host_port, path = url.removeprefix("ws://").split("/", 1)
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"websocket handshake failed: {head[:80]!r}")

    def send(self, text: str) -> None:
        payload, mask = text.encode(), os.urandom(4)
        n = len(payload)
        header = bytes([0x81]) + (
            bytes([0x80 | n])
            if n < 126
            else bytes([0x80 | 126]) + struct.pack(">H", n)
            if n < 65536
            else bytes([0x80 | 127]) + struct.pack(">Q", n)
        )
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("websocket closed")
            buf += chunk
        return bytes(buf)

    def recv(self) -> str:
        parts = []
        while True:
            b1, b2 = self._exact(2)
            n = b2 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            parts.append(self._exact(n))
            if b1 & 0x80:  # FIN
                return b"".join(parts).decode()


class Page:
    """One tab: navigate, evaluate, screenshot; collects console, log and exception events."""

    def __init__(self, browser: Chromium, session: str):
        self.browser, self.session = browser, session
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.call(method, params, self.session)

    def goto(self, url: str, settle: float = 0.25) -> None:
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.browser.wait_event("Page.loadEventFired", self.session)
        self.browser.drain(settle)

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        return result.get("result", {}).get("value")

    def screenshot(self, path: Path, width: int = 1280, height: int = 1600) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def messages(self) -> list[str]:
        """Return console messages, log entries and uncaught exceptions as text lines."""
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.consoleAPICalled":
                out.append(
                    " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
                )
            elif e["method"] == "Log.entryAdded":
                out.append(f"{p['entry'].get('source')}: {p['entry'].get('text')}")
            elif e["method"] == "Runtime.exceptionThrown":
                out.append("exception: " + json.dumps(p.get("exceptionDetails", {}))[:300])
        return out


class Chromium:
    """A headless Chromium driven over CDP; use as a context manager."""

    def __init__(self, profile: Path):
        exe = chromium_path()
        if exe is None:
            raise FileNotFoundError("chromium not installed")
        profile.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                exe,
                *FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        self.ws = _WebSocket(f"ws://127.0.0.1:{port}{path}")
        self.next_id = 0
        self.pages: dict[str, Page] = {}

    def call(self, method: str, params: dict[str, Any], session: str | None = None) -> dict:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def _read(self) -> dict[str, Any]:
        reply = json.loads(self.ws.recv())
        if "method" in reply and reply.get("sessionId") in self.pages:
            self.pages[reply["sessionId"]].events.append(reply)
        return reply

    def wait_event(self, method: str, session: str, timeout: float = 20) -> None:
        page = self.pages[session]
        deadline = time.monotonic() + timeout
        while not any(e["method"] == method for e in page.events):
            if time.monotonic() > deadline:
                raise TimeoutError(method)
            self._read()

    def drain(self, seconds: float) -> None:
        """Collect events for a while (late console messages, CSP reports)."""
        self.ws.sock.settimeout(0.1)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                try:
                    self._read()
                except TimeoutError:
                    continue
        finally:
            self.ws.sock.settimeout(20)

    def new_page(self) -> Page:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = self.pages.setdefault(session["sessionId"], Page(self, session["sessionId"]))
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            page.call(domain)
        return page

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
