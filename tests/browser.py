"""Debian's headless Chromium, driven over the Chrome DevTools Protocol, for the console's tests and screenshots.

Why our own small client: Playwright downloads its own browser (not allowed
here) and Selenium needs a second driver binary; the DevTools Protocol is one
websocket of JSON messages, so a page can be loaded, read, clicked, typed
into and photographed with the standard library alone.

Chromium runs in its own session (process group) with a throw-away profile;
:meth:`Chromium.close` ends the whole group, so no renderer outlives a test.

    with Chromium(tmp_path / "chromium") as browser:
        page = browser.page()
        page.goto("http://127.0.0.1:6066/console")
        page.wait_for("document.body.dataset.ready === 'true'")
        page.click("tr[data-key='x'] button.ack")
        page.screenshot(tmp_path / "console.png")
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["Chromium", "Page", "BrowserError", "chromium_binary"]

_CANDIDATES = ("chromium", "chromium-browser", "chromium-headless-shell", "google-chrome")


class BrowserError(AssertionError):
    """The browser or the page did not do what a test waited for."""


def chromium_binary() -> str | None:
    """The first Chromium found on PATH (Debian's ``chromium`` package first)."""
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class _WebSocket:
    """A minimal client websocket (RFC 6455): text frames out (masked), frames in, ping answered."""

    def __init__(self, url: str, timeout: float) -> None:
        assert url.startswith("ws://"), url
        host_port, _, path = url[5:].partition("/")
        host, _, port = host_port.partition(":")
        self._sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self._sock.sendall(
            (
                f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self._sock.recv(4096)
            if not chunk:
                raise BrowserError("DevTools closed the websocket during the handshake")
            head += chunk
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise BrowserError(f"DevTools refused the websocket: {status.decode(errors='replace')}")
        self._buffer = head.split(b"\r\n\r\n", 1)[1]

    def _read(self, n: int) -> bytes:
        while len(self._buffer) < n:
            chunk = self._sock.recv(max(65536, n - len(self._buffer)))
            if not chunk:
                raise BrowserError("DevTools closed the websocket")
            self._buffer += chunk
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self._sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send(self, text: str) -> None:
        self._send_frame(0x1, text.encode())

    def receive(self, timeout: float) -> str:
        self._sock.settimeout(timeout)
        message = b""
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(length)
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise BrowserError("DevTools closed the websocket")
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:  # FIN
                    return message.decode()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._send_frame(0x8, b"")
        self._sock.close()


class Page:
    """One tab: navigate, evaluate JavaScript, wait for a condition, click, type, screenshot."""

    def __init__(self, ws_url: str, *, timeout: float = 30.0) -> None:
        self._ws = _WebSocket(ws_url, timeout)
        self._timeout = timeout
        self._next_id = 0
        self.errors: list[str] = []  # uncaught exceptions and console errors seen on the page
        self.call("Runtime.enable")
        self.call("Page.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a DevTools command and return its result (events on the way are recorded)."""
        self._next_id += 1
        ident = self._next_id
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + self._timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"no answer to {method} within {self._timeout:g}s")
            message = json.loads(self._ws.receive(remaining))
            if message.get("id") == ident:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error'].get('message')}")
                return message.get("result", {})
            self._event(message)

    def _event(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.errors.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))

    def set_viewport(self, width: int, height: int) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def goto(self, url: str) -> None:
        result = self.call("Page.navigate", url=url)
        if result.get("errorText"):
            raise BrowserError(f"could not load {url}: {result['errorText']}")
        self.wait_for("document.readyState === 'complete'")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (promises awaited)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(
                f"{expression!r} threw: {details.get('exception', {}).get('description') or details.get('text')}"
            )
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, *, timeout: float = 60.0, what: str | None = None) -> Any:
        """Poll until ``expression`` is truthy; its value, or BrowserError naming ``what``.

        Values cross as JSON: a DOM node arrives as ``{}`` (falsy), so test for one with ``!!``.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {what or expression}")
            time.sleep(0.1)

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element (scrolled into view first)."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2, r.width * r.height]; })()"
        )
        if not box or not box[2]:
            raise BrowserError(f"nothing visible to click at {selector}")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def type(self, selector: str, text: str) -> None:
        """Focus the field, clear it, and type ``text`` as keyboard input."""
        found = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return false;"
            " e.focus(); e.select && e.select(); return true; })()"
        )
        if not found:
            raise BrowserError(f"no field at {selector}")
        self.call("Input.dispatchKeyEvent", type="keyDown", key="Backspace", code="Backspace", windowsVirtualKeyCode=8)
        self.call("Input.dispatchKeyEvent", type="keyUp", key="Backspace", code="Backspace", windowsVirtualKeyCode=8)
        self.call("Input.insertText", text=text)

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        self._ws.close()


class Chromium:
    """A headless Chromium process with remote debugging on a free loopback port."""

    def __init__(self, profile_dir: Path, *, width: int = 1366, height: int = 768, timeout: float = 60.0) -> None:
        binary = chromium_binary()
        if binary is None:
            raise BrowserError("no Chromium on PATH; scripts/bootstrap.sh installs Debian's chromium")
        self.profile_dir = profile_dir
        self.width, self.height = width, height
        profile_dir.mkdir(parents=True, exist_ok=True)
        (profile_dir / "DevToolsActivePort").unlink(missing_ok=True)  # a reused profile's port is stale
        self._log = open(profile_dir.parent / f"{profile_dir.name}.log", "ab")  # noqa: SIM115 - closed in close()
        args = [
            binary,
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--metrics-recording-only",
            "--password-store=basic",
            "--use-mock-keychain",
            f"--user-data-dir={profile_dir}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--window-size={width},{height}",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
            "about:blank",
        ]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._pages: list[Page] = []
        try:
            self.port = self._wait_for_port(timeout)
        except BaseException:
            self.close()
            raise

    def _wait_for_port(self, timeout: float) -> int:
        marker = self.profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrowserError(f"chromium exited with {self.proc.returncode}; see {self._log.name}")
            try:
                lines = marker.read_text().split()
                if lines:
                    return int(lines[0])
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise BrowserError(f"chromium did not open its DevTools port within {timeout:g}s")

    def page(self) -> Page:
        """The first tab, sized like a laptop screen."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as response:
            targets = [t for t in json.load(response) if t.get("type") == "page"]
        if not targets:
            raise BrowserError("chromium has no page open")
        page = Page(targets[0]["webSocketDebuggerUrl"])
        page.set_viewport(self.width, self.height)
        self._pages.append(page)
        return page

    def _close_gracefully(self) -> None:
        """Ask Chromium to quit, so that it ends and reaps its own renderers."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/version", timeout=5) as response:
                ws = _WebSocket(json.load(response)["webSocketDebuggerUrl"], 5)
            ws.send(json.dumps({"id": 1, "method": "Browser.close"}))
            ws.close()
            self.proc.wait(timeout=10)
        except (OSError, ValueError, KeyError, BrowserError, subprocess.TimeoutExpired):
            pass

    def close(self) -> None:
        """End Chromium and every process it started (its process group)."""
        for page in self._pages:
            page.close()
        if self.proc.poll() is None and getattr(self, "port", None):
            self._close_gracefully()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):  # renderers left after the main process went
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
