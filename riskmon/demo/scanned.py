"""The demo's last step: one scanned paper form becomes a decision.

A standard application form is drawn from one of the demo's public
applications (a new application id, so it is decided afresh), made to look
scanned, read by OCR (:mod:`riskmon.intake`) and produced to
``credit.applications`` like any other; the running worker decides it. The
step is optional: without Tesseract it says how to install it and is skipped
(under ``CI=true`` that counts as a failure).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["scanned_form"]


def scanned_form(
    say: Callable[[str], None],
    consumer: Any,
    producer: Any,
    names: Any,
    application: dict[str, Any],
    timeout: float = 60.0,
) -> bool:
    """Show one scanned form becoming a decision; False only when it could not run under CI."""
    from riskmon.intake import read_document, standard_template, tesseract_available
    from riskmon.intake.generate import degrade, encode, fill_form
    from riskmon.intake.ocr import INSTALL_HINT

    say("== a scanned paper form becomes a decision (riskmon intake)")
    if not tesseract_available():
        say(f"   skipped: tesseract is not installed ({INSTALL_HINT})")
        return os.environ.get("CI", "").lower() != "true"
    app_id = f"scan-{application['application_id']}"
    form = fill_form({**application, "application_id": app_id})
    document = encode(degrade(form.image, app_id, strength=0.5), "jpeg")
    started = time.monotonic()
    result = read_document(document, standard_template())
    say(f"   {result.line('scanned-form.jpg')} ({time.monotonic() - started:.1f} s of OCR)")
    if result.application is None:
        say("   the form went to the dead-letter topic instead (see `riskmon tail deadletters`)")
        letter = result.dead_letter(datetime.now(UTC))
        producer.produce(names.deadletter, key=letter.key, value=orjson.dumps(letter.to_dict()))
        producer.flush(10)
        return True
    read_id = result.application_id
    producer.produce(names.applications, key=str(read_id).encode(), value=orjson.dumps(result.application))
    producer.flush(10)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = consumer.poll(0.2)
        if msg is None or msg.error() or msg.topic() != names.decisions:
            continue
        decision = orjson.loads(msg.value() or b"{}")
        if decision.get("application_id") == read_id:
            reasons = "; ".join(r["code"] for r in decision["reasons"][:3])
            say(f"   {read_id:<18} {decision['stage']:<9} {decision['outcome']:<8} {reasons}")
            return True
    say(f"   no decision for {read_id} within {timeout:.0f} s")
    return True
