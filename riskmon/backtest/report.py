"""The backtest's report: one JSON-ready dict, and its terminal table.

The dict is what ``--json`` writes and what the HTML page renders:
``data`` (the stream), ``current`` and ``new`` (each configuration's
figures, :func:`riskmon.backtest.summary.summarise`), ``comparison`` (how
outcomes move) and ``records`` (every decision, detector candidate and
published alert of each run, for a reader who wants to check one case).
Decisions and alerts carry identifiers and numbers only, never ``applicant``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from riskmon.backtest.engine import RunResult
from riskmon.backtest.recorded import Parsed, incidents
from riskmon.backtest.summary import compare, summarise
from riskmon.schemas.vocab import LEVELS, OUTCOMES

__all__ = ["build_report", "table_rows", "text_report", "outcome_moves", "RUNS"]

#: The two runs of a report, in display order.
RUNS = ("current", "new")


def build_report(data: str | Path, events: Sequence[Parsed], current: RunResult, new: RunResult) -> dict[str, Any]:
    """Everything the backtest found, as plain JSON (see module doc)."""
    found = incidents(list(events))
    topics = Counter(e.event.topic for e in events)
    return {
        "data": {
            "file": str(data),
            "events": len(events),
            "by_topic": dict(sorted(topics.items())),
            "invalid": sum(1 for e in events if e.record is None),
            "incidents": [{"label": i.label, "customer_id": i.customer_id, "events": i.events} for i in found],
        },
        "current": summarise(current, found),
        "new": summarise(new, found),
        "comparison": compare(current, new),
        "records": {name: _records(r) for name, r in zip(RUNS, (current, new), strict=True)},
    }


def _records(r: RunResult) -> dict[str, list[dict]]:
    return {
        "decisions": r.decisions,
        "holds": r.holds,
        "candidates": [a.to_dict() for a in r.candidates],
        "published": [a.to_dict() for a in r.published],
        "notifications": [n.to_dict() for n in r.notifications],
    }


# -- terminal ------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def _pp(a: float | None, b: float | None) -> str:
    return "" if a is None or b is None else f"{(b - a) * 100:+.1f} pp"


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _delta(a: float | None, b: float | None) -> str:
    return "" if a is None or b is None or a == b else f"{b - a:+g}"


def table_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The side-by-side rows (what, current, new, change) that the terminal and the HTML page show."""
    cur, new = report["current"], report["new"]
    rows: list[tuple[str, str, str, str]] = []

    def row(name: str, a: str, b: str, change: str = "") -> None:
        rows.append((name, a, b, change))

    row("configuration", cur["config"]["policy_version"], new["config"]["policy_version"])
    row(
        "decisions",
        str(cur["decisions"]["n"]),
        str(new["decisions"]["n"]),
        _delta(cur["decisions"]["n"], new["decisions"]["n"]),
    )
    for o in OUTCOMES:
        a, b = cur["decisions"], new["decisions"]
        row(
            f"  {o}",
            f"{a['counts'][o]} ({_pct(a['rates'][o])})",
            f"{b['counts'][o]} ({_pct(b['rates'][o])})",
            _pp(a["rates"][o], b["rates"][o]),
        )
    for o in OUTCOMES:
        a, b = cur["performance"][o], new["performance"][o]
        name = "bad rate among approvals" if o == "approve" else f"  bad rate among {o}s"
        row(
            name,
            f"{_pct(a['bad_rate'])} ({a['bad']}/{a['labelled']})",
            f"{_pct(b['bad_rate'])} ({b['bad']}/{b['labelled']})",
            _pp(a["bad_rate"], b["bad_rate"]),
        )
    row("decided by", _models(cur), _models(new))
    row(
        "held for review by a model alert",
        str(cur["decisions"]["held_by_model_alert"]),
        str(new["decisions"]["held_by_model_alert"]),
    )
    for code, count in new["decisions"].get("by_customer_rule", {}).items():
        before = cur["decisions"].get("by_customer_rule", {}).get(code, 0)
        if count or before:
            row(f"held by customer rule {code}", str(before), str(count))
    row("approvals re-issued as holds", str(cur["decisions"].get("holds", 0)), str(new["decisions"].get("holds", 0)))
    for stage, label in (
        ("candidates", "alerts, raw candidates"),
        ("feed", "alerts after dedup (feed)"),
        ("notifications", "notifications after grouping"),
    ):
        key = "trigger" if stage == "notifications" else "firing"
        a, b = cur["alerts"][stage][key], new["alerts"][stage][key]
        row(
            f"{label} " + "/".join(LEVELS),
            "/".join(str(a[lv]) for lv in LEVELS),
            "/".join(str(b[lv]) for lv in LEVELS),
            _delta(sum(a.values()), sum(b.values())),
        )
    inc_a, inc_b = cur["incidents"], new["incidents"]
    row(
        "incidents detected, raw / after manager",
        f"{inc_a['detected_raw']}/{inc_a['total']} / {inc_a['detected_managed']}/{inc_a['total']}",
        f"{inc_b['detected_raw']}/{inc_b['total']} / {inc_b['detected_managed']}/{inc_b['total']}",
    )
    for one_a, one_b in zip(inc_a["each"], inc_b["each"], strict=False):
        row(f"  {one_a['label']} ({one_a['customer_id']})", _detection(one_a["managed"]), _detection(one_b["managed"]))
    if cur["alerts"]["unlabelled_customers_alerted"] is not None:
        row(
            "unlabelled customers alerted (warning+)",
            str(cur["alerts"]["unlabelled_customers_alerted"]),
            str(new["alerts"]["unlabelled_customers_alerted"]),
        )
    ta, tb = cur["decision_time_ms"], new["decision_time_ms"]
    row(
        "decision time ms p50/p95/p99",
        "/".join(_ms(ta[k]) for k in ("p50", "p95", "p99")),
        "/".join(_ms(tb[k]) for k in ("p50", "p95", "p99")),
        "(measured, offline)",
    )
    return rows


def text_report(report: dict[str, Any]) -> str:
    """The side-by-side terminal table of a report."""
    data = report["data"]
    rows = table_rows(report)
    widths = [max(len(r[i]) for r in rows + [("", "current", "new", "change")]) for i in range(4)]
    lines = [
        f"riskmon backtest: {data['file']}: {data['events']} events ("
        + ", ".join(f"{n} {t.split('.')[-1]}" for t, n in data["by_topic"].items())
        + f"), {data['invalid']} invalid (dead letters), {len(data['incidents'])} labelled incidents",
        "  ".join(h.ljust(w) for h, w in zip(("", "current", "new", "change"), widths, strict=False)).rstrip(),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in rows]
    lines += strategy_lines(report["new"].get("strategy", {}))
    lines.append(outcome_moves(report))
    return "\n".join(lines)


def strategy_lines(curves: dict[str, list[dict[str, float]]]) -> list[str]:
    """The new configuration's strategy curves, one line per model: bad rate among approvals at
    about 50, 60, 70, 80, 90 and 100% approved (the nearest point of each curve)."""
    if not curves:
        return []
    out = ["strategy (new configuration): bad rate among approvals when approving the lowest PDs, per model"]
    for model, curve in curves.items():
        cells = []
        for target in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
            point = min(curve, key=lambda p: abs(p["approval_rate"] - target))
            cells.append(f"{point['approval_rate']:.0%}: {point['bad_rate_approved']:.2%}")
        out.append(f"  {model:<14} " + "  ".join(cells))
    return out


def outcome_moves(report: dict[str, Any]) -> str:
    """One line: how many applications change outcome, and from what to what."""
    comp = report["comparison"]
    moves = [f"{old}->{o} {n}" for old, row in comp["outcome_matrix"].items() for o, n in row.items() if n and old != o]
    return f"outcome changes: {comp['changed']} applications" + (f" ({', '.join(moves)})" if moves else "")


def _models(s: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in s["decisions"]["by_model"].items()) or "-"


def _detection(d: dict) -> str:
    if not d["detected"]:
        return "missed"
    return f"{d['level']} after {d['delay_s']:g}s ({', '.join(d['detectors'])})"
