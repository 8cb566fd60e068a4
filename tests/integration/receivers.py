"""Local stand-ins for the people's side of alerting, on loopback, for delivery tests.

* :class:`PagerDutyStandIn` speaks the Events API v2 (``POST /v2/enqueue``)
  and keeps incidents the way PagerDuty does: one open incident per
  ``dedup_key``; a trigger for an open key is appended to it; acknowledge and
  resolve act on it. Its answers are scripted (202, 429, 500, a timeout).
* :class:`WebhookStandIn` checks our HMAC signature and records bodies.
* :class:`AlertmanagerProcess` runs Debian's real ``prometheus-alertmanager``.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from riskmon.alerting.receivers.webhook import verify


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    def __init__(self) -> None:
        self.port = free_port()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, answer, delay = owner.answer(self.path, dict(self.headers), body)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    if status == 429:
                        self.send_header("Retry-After", "0")
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(json.dumps(answer).encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the scripted timeout)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.lock = threading.Lock()

    def answer(self, path: str, headers: dict, body: bytes) -> tuple[int, dict, float]:
        raise NotImplementedError

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class PagerDutyStandIn(_Server):
    """Scripted answers first (e.g. ``[429, 500, "timeout"]``), then 202 for ever."""

    def __init__(self, script: list[int | str], timeout_delay: float = 2.5) -> None:
        super().__init__()
        self.script = list(script)
        self.timeout_delay = timeout_delay
        self.attempts: list[tuple[int | str, dict]] = []
        self.accepted: list[dict] = []
        self.incidents: dict[str, list[dict]] = defaultdict(list)  # dedup_key -> incidents, newest last

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2/enqueue"

    def answer(self, path: str, headers: dict, body: bytes) -> tuple[int, dict, float]:
        event = json.loads(body)
        with self.lock:
            scripted = self.script.pop(0) if self.script else 202
            self.attempts.append((scripted, event))
            if scripted == "timeout":
                return 202, {"status": "late"}, self.timeout_delay  # too late: the sender has timed out
            if scripted != 202:
                return int(scripted), {"status": "error"}, 0.0
            self.accepted.append(event)
            self._apply(event)
        return 202, {"status": "success", "message": "Event processed", "dedup_key": event["dedup_key"]}, 0.0

    def _apply(self, event: dict) -> None:
        incidents = self.incidents[event["dedup_key"]]
        current = incidents[-1] if incidents and incidents[-1]["status"] != "resolved" else None
        action = event["event_action"]
        if action == "trigger":
            if current is None:
                incidents.append({"status": "triggered", "events": [event]})
            else:
                current["events"].append(event)  # PagerDuty appends to the open incident
        elif current is not None:
            current["status"] = "acknowledged" if action == "acknowledge" else "resolved"
            current["events"].append(event)

    def open_incidents(self) -> dict[str, int]:
        with self.lock:
            return {k: sum(1 for i in v if i["status"] != "resolved") for k, v in self.incidents.items()}


class WebhookStandIn(_Server):
    """Answers 202 to correctly signed bodies and 401 to anything else."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret
        self.received: list[dict] = []
        self.refused = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def answer(self, path: str, headers: dict, body: bytes) -> tuple[int, dict, float]:
        ok = verify(
            self.secret,
            headers.get("X-Riskmon-Timestamp", ""),
            body,
            headers.get("X-Riskmon-Signature", ""),
            now=time.time(),
        )
        with self.lock:
            if not ok:
                self.refused += 1
                return 401, {"error": "bad signature"}, 0.0
            self.received.append({"idempotency_key": headers.get("Idempotency-Key"), **json.loads(body)})
        return 202, {}, 0.0


class AlertmanagerProcess:
    """Debian's ``prometheus-alertmanager`` on a free loopback port, clustering off."""

    BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> AlertmanagerProcess:
        assert self.BINARY, "prometheus-alertmanager is not installed (scripts/bootstrap.sh installs it)"
        config = self.directory / "alertmanager.yml"
        config.write_text("route:\n  receiver: blackhole\n  group_by: ['...']\nreceivers:\n  - name: blackhole\n")
        self.log = open(self.directory / "alertmanager.log", "wb")
        self.proc = subprocess.Popen(
            [
                self.BINARY,
                f"--config.file={config}",
                f"--storage.path={self.directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError("alertmanager did not become ready:\n" + (self.directory / "alertmanager.log").read_text())

    def alerts(self) -> list[dict]:
        with urllib.request.urlopen(
            f"{self.url}/api/v2/alerts?active=true&silenced=true&inhibited=true", timeout=5
        ) as r:
            return json.loads(r.read())

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
