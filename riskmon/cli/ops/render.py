"""One line per decision, alert or dead letter, for people watching a terminal.

Why these choices: a line must stay one line whatever the event carries
(control characters and escape sequences in a summary are replaced, so a
producer cannot rewrite the operator's screen); the most telling fields come
first and at fixed widths so columns line up; colour marks only the level or
the outcome, and is off unless stdout is a terminal (and ``NO_COLOR`` is not
set, see https://no-color.org). A malformed event renders with ``?`` rather
than failing: ``tail`` is how one finds such events.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["render_alert", "render_decision", "render_deadletter", "use_color", "clean"]

_RESET = "\x1b[0m"
_LEVEL_COLORS = {"critical": "\x1b[1;31m", "warning": "\x1b[33m", "info": "\x1b[36m"}
_OUTCOME_COLORS = {"approve": "\x1b[32m", "review": "\x1b[33m", "reject": "\x1b[1;31m"}
_RESOLVED_COLOR = "\x1b[32m"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def use_color(no_color_flag: bool, is_tty: bool, env: Mapping[str, str]) -> bool:
    """Colour only on a terminal, unless ``--no-color``, ``NO_COLOR`` or ``TERM=dumb`` says otherwise.

    >>> use_color(False, True, {}), use_color(False, False, {}), use_color(True, True, {})
    (True, False, False)
    >>> use_color(False, True, {"NO_COLOR": "1"}), use_color(False, True, {"TERM": "dumb"})
    (False, False)
    """
    return is_tty and not no_color_flag and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


def clean(value: Any) -> str:
    """``value`` as text on one line, control characters (newlines, escapes) shown as one space.

    >>> clean("two\\nlines\\x1b[2J"), clean(None), clean(3.0)
    ('two lines [2J', '?', '3.0')
    """
    if value is None:
        return "?"
    return _CONTROL.sub(" ", str(value))


def _paint(text: str, code: str | None, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color and code else text


def _number(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return clean(value)
    return f"{value:.{digits}g}"


def render_alert(alert: Mapping[str, Any], *, color: bool = False) -> str:
    """One line for an alert of ``risk.alerts``.

    >>> render_alert({"updated_at": "2026-11-29T14:45:12.250Z", "level": "warning", "status": "firing",
    ...               "detector": "velocity", "subject": {"kind": "customer", "id": "cust-42"},
    ...               "summary": "7 cash withdrawals in 10 minutes", "value": 7.0, "threshold": 5.0,
    ...               "window": "10m", "count": 3})
    '2026-11-29T14:45:12.250Z WARNING  firing   velocity          customer:cust-42  7 cash withdrawals in 10 minutes
      (value 7, threshold 5, window 10m, x3)'
    """
    level = clean(alert.get("level"))
    status = clean(alert.get("status"))
    found = alert.get("subject")
    subject: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    details = [f"value {_number(alert.get('value'))}"] if alert.get("value") is not None else []
    if alert.get("threshold") is not None:
        details.append(f"threshold {_number(alert.get('threshold'))}")
    if alert.get("window"):
        details.append(f"window {clean(alert['window'])}")
    count = alert.get("count")
    if isinstance(count, int) and count > 1:
        details.append(f"x{count}")
    tail = f" ({', '.join(details)})" if details else ""
    return " ".join(
        (
            clean(alert.get("updated_at") or alert.get("started_at")),
            _paint(f"{level.upper():<8}", _LEVEL_COLORS.get(level), color),
            _paint(f"{status:<8}", _RESOLVED_COLOR if status == "resolved" else None, color),
            f"{clean(alert.get('detector')):<17}",
            f"{clean(subject.get('kind'))}:{clean(subject.get('id'))} ",
            f"{clean(alert.get('summary'))}{tail}",
        )
    )


def render_decision(decision: Mapping[str, Any], *, color: bool = False) -> str:
    """One line for a decision of ``credit.decisions``.

    >>> render_decision({"decided_at": "2026-11-29T14:38:26.140Z", "application_id": "app-1",
    ...                  "customer_id": "cust-42", "stage": "automated", "outcome": "review", "score": 0.18,
    ...                  "grade": "C", "approved_amount": None, "model_version": "scorecard-v1", "latency_ms": 3.2,
    ...                  "reasons": [{"code": "DTI_HIGH"}, {"code": "INQUIRIES"}]})
    '2026-11-29T14:38:26.140Z review  C pd=0.180 app-1 customer=cust-42 automated scorecard-v1 3.2ms DTI_HIGH,INQUIRIES'
    """
    outcome = clean(decision.get("outcome"))
    score = decision.get("score")
    pd = f"{score:.3f}" if isinstance(score, (int, float)) and not isinstance(score, bool) else clean(score)
    parts = [
        clean(decision.get("decided_at")),
        _paint(f"{outcome:<7}", _OUTCOME_COLORS.get(outcome), color),
        clean(decision.get("grade")),
        f"pd={pd}",
        clean(decision.get("application_id")),
        f"customer={clean(decision.get('customer_id'))}",
    ]
    amount = decision.get("approved_amount")
    if amount is not None:
        currency = decision.get("currency")
        parts.append(f"approved={_number(amount, 12)}{' ' + clean(currency) if currency else ''}")
    parts += [clean(decision.get("stage")), clean(decision.get("model_version"))]
    latency = decision.get("latency_ms")
    if isinstance(latency, (int, float)) and not isinstance(latency, bool):
        parts.append(f"{latency:.1f}ms")
    found = decision.get("reasons")
    reasons: list[Any] = found if isinstance(found, list) else []
    codes = [clean(r.get("code")) for r in reasons if isinstance(r, Mapping)]
    if codes:
        parts.append(",".join(codes))
    return " ".join(parts)


def render_deadletter(record: Mapping[str, Any], *, color: bool = False) -> str:
    """One line for a record of ``risk.deadletter``: where it came from and the rule it broke.

    The original bytes (``raw``) are left out: they may hold an applicant's
    personal data, and ``--json`` shows them to whoever needs them.

    >>> render_deadletter({"received_at": "2026-11-29T14:38:27.001Z", "source_topic": "credit.applications",
    ...                    "partition": 2, "offset": 1841, "key": "app-9", "raw": "{...}",
    ...                    "error": {"type": "minimum", "field": "amount", "message": "amount: must be > 0 (got -5)"}})
    '2026-11-29T14:38:27.001Z credit.applications[2]@1841 key=app-9 minimum amount: must be > 0 (got -5)'
    """
    found = record.get("error")
    error: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    return " ".join(
        (
            clean(record.get("received_at")),
            f"{clean(record.get('source_topic'))}[{clean(record.get('partition'))}]@{clean(record.get('offset'))}",
            f"key={clean(record.get('key'))}",
            _paint(clean(error.get("type")), _LEVEL_COLORS["warning"], color),
            clean(error.get("message")),
        )
    )
