"""`aggregator demo --serve --port N`: every link on the served site works, and names port N."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urljoin

import pytest

from aggregator.demo.config import load_faults

pytestmark = pytest.mark.integration
LINK = re.compile(r'(?:href|src)="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def site_links(site: Path, base: str) -> dict[str, str]:
    """Return every absolute link target in the site's pages -> a page that links to it."""
    links: dict[str, str] = {}
    for page in site.rglob("*.html"):
        rel = page.relative_to(site).as_posix()
        url = base + rel.removesuffix("index.html")
        for match in LINK.finditer(page.read_text(encoding="utf-8")):
            target = urldefrag(urljoin(url, match.group(1).replace("&amp;", "&")))[0]
            links.setdefault(target, url)
    return links


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def serve_demo(folder: Path, port: int) -> subprocess.Popen:
    """Return `aggregator demo --serve --port PORT` started in `folder`, pipes open."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGGREGATOR_", "OPENAI_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "aggregator", "demo", "--serve", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as a terminal sends it: a shell starts background jobs with SIGINT ignored,
        # and a child would inherit that (then Python never raises KeyboardInterrupt).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def test_demo_serve_every_link_works_on_the_given_port(tmp_path: Path) -> None:
    port = free_port()
    process = serve_demo(tmp_path, port)
    try:
        output = []
        for line in process.stdout:  # type: ignore[union-attr]
            output.append(line)
            if line.startswith("serving "):
                break
        assert f"at http://127.0.0.1:{port}/" in output[-1], "".join(output)
        base = f"http://127.0.0.1:{port}/"
        links = site_links(tmp_path / "site", base)
        local = {t: page for t, page in links.items() if t.startswith("http://127.0.0.1")}
        assert all(t.startswith(base) for t in local), "a link names another port"
        assert any("/examples/" in t for t in local), "original sources are linked"
        assert any("/r/MachineLearning/comments/" in t for t in local), "threads are linked"
        dead_on_purpose = {base.rstrip("/") + "/examples" + path for path in load_faults()}
        broken = {
            t: (code, page)
            for t, page in local.items()
            if t not in dead_on_purpose and (code := status_of(t)) != 200
        }
        assert not broken, "\n".join(
            f"{code} {t} (on {page})" for t, (code, page) in broken.items()
        )
        for text in ("api/items.json", "sitemap.xml", "feeds/items.xml"):
            body = (tmp_path / "site" / text).read_text(encoding="utf-8")
            assert base in body and "127.0.0.1:8000" not in body, text
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # The intentional faults are labelled as such in the demo's output.
    expected = [line for line in output if line.strip().startswith("expected: ")]
    assert expected and "this example feed is broken on purpose" in "".join(expected)
    # Each dead link says what its card was made from: the feed's text, or the title alone
    # (Ferrite #110's feed entry is the one the broken feed cut off).
    dead = {line.split("/examples/")[1].split(":")[0]: line for line in expected if "404" in line}
    assert (
        "(the feed's own text was used: " in dead["tensorwire/news/tessellate-series-b-retrieval"]
    )
    assert "the card shows the title" in dead["ferrite/issues/issue-110-substations"]


def test_demo_serve_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    # `docker stop` and service managers send SIGTERM: the server stops as on Ctrl-C, exit 0,
    # and its worker processes are shut down (not left to the resource tracker).
    port = free_port()
    process = serve_demo(tmp_path, port)
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            if line.startswith("serving "):
                break
        assert status_of(f"http://127.0.0.1:{port}/") == 200
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)
        assert process.returncode == 0, errors
        assert "leaked" not in errors and "Traceback" not in errors, errors
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
