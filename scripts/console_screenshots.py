"""Screenshots of the live console during a real ``riskmon demo`` run, for ``docs/``.

Usage (after ``make bootstrap``)::

    .venv/bin/python scripts/console_screenshots.py [--limit 8000] [--out docs/images] [--dir STACK_DIR]

It runs ``riskmon demo`` (real Lending Club applications, their real
outcomes, the seeded transaction stream with its incidents) and opens the
demo worker's console in Debian's headless Chromium while the data flows,
as an operator would. When the demo has decided everything it pauses the
demo's driver process (SIGSTOP; the worker runs in its own session and keeps
serving), acknowledges one alert through the page like an operator, takes the
screenshots, and lets the demo finish, which stops the worker and, unless the
stack was already running, the stack.

Why during the run and not after: the model AUC chart is sampled from the
worker's metrics as it runs; a console started later replays decisions,
alerts and portfolio events from Kafka but not past AUC values.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import Chromium, Page  # noqa: E402  (a repository tool, run from a checkout)

PORT_LINE = re.compile(r"metrics on http://127\.0\.0\.1:(\d+)/metrics")


def _wait_until_served(url: str, timeout: float = 120.0) -> None:
    """The worker prints its port before its web server listens."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _acknowledge_one(page: Page) -> str | None:
    """Acknowledge the most severe firing alert through the page, as an operator would."""
    key = page.evaluate(
        "(() => { const r = document.querySelector('#alerts-body tr[data-status=firing] button.ack');"
        " return r ? r.closest('tr').dataset.key : null; })()"
    )
    if key is None:
        return None
    page.click(f'#alerts-body tr[data-key="{key}"] button.ack')
    page.wait_for("document.getElementById('action-dialog').open", what="the acknowledgement dialog")
    page.type("#action-by", "ops-anna")
    page.type("#action-comment", "calling the customer about the burst")
    page.click("#action-submit")
    page.wait_for(
        f"document.querySelector('#alerts-body tr[data-key=\"{key}\"]').dataset.acknowledgedBy === 'ops-anna'",
        what="the acknowledgement on the feed",
        timeout=60,
    )
    return key


def _capture(page: Page, out: Path) -> list[Path]:
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for("document.body.dataset.connection === 'live'", what="a live console")
    at = page.evaluate("document.body.dataset.indicatorsAt")
    page.wait_for(f"document.body.dataset.indicatorsAt !== {at!r}", what="fresh indicators", timeout=15)
    page.wait_for(
        "getComputedStyle(document.getElementById('toast')).opacity === '0'", what="the notice to fade", timeout=15
    )
    return [page.screenshot(out / "console.png", full_page=False), page.screenshot(out / "console-full.png")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--limit", type=int, default=8000, help="applications (8000 lets score PSI build its reference)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--dir", type=Path, default=None, help="stack directory (default: riskmon's own)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "riskmon", "demo", "--limit", str(args.limit)]
    if args.dir:
        command += ["--dir", str(args.dir)]
    demo = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True
    )
    browser: Chromium | None = None
    page: Page | None = None
    scratch = tempfile.TemporaryDirectory(prefix="riskmon-console-shots-")
    try:
        assert demo.stdout is not None
        for line in demo.stdout:
            print(line, end="", flush=True)
            found = PORT_LINE.search(line)
            if found and browser is None:
                _wait_until_served(f"http://127.0.0.1:{found.group(1)}/console")
                browser = Chromium(Path(scratch.name) / "chromium")
                page = browser.page()
                page.goto(f"http://127.0.0.1:{found.group(1)}/console")
            if line.startswith("== result") and page is not None:
                os.kill(demo.pid, signal.SIGSTOP)  # the worker keeps serving; the demo waits to stop it
                try:
                    key = _acknowledge_one(page)
                    print(f"-- acknowledged {key} through the page", flush=True)
                    for path in _capture(page, args.out):
                        print(f"-- wrote {path}", flush=True)
                    if page.errors:
                        print(f"-- JavaScript errors: {page.errors}", flush=True)
                finally:
                    os.kill(demo.pid, signal.SIGCONT)
        return demo.wait()
    finally:
        if browser is not None:
            browser.close()
        if demo.poll() is None:  # interrupted: SIGINT lets the demo stop its worker (SIGTERM would skip that)
            os.kill(demo.pid, signal.SIGCONT)
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(timeout=120)
            except subprocess.TimeoutExpired:
                demo.terminate()
                demo.wait(timeout=30)
        scratch.cleanup()


if __name__ == "__main__":
    sys.exit(main())
