"""The backtest's HTML page: one self-contained file, tables and inline SVG charts.

No script, no stylesheet or font from elsewhere: the page renders the same
offline, in a mail attachment or an archive, years later. Every text from
the data (identifiers, detector names, file names) is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from riskmon.backtest.report import RUNS, outcome_moves, table_rows
from riskmon.backtest.svg import grouped_bars, histogram
from riskmon.schemas.vocab import LEVELS, OUTCOMES

__all__ = ["html_report"]

_STYLE = """
body{font-family:sans-serif;margin:2em;color:#222;max-width:1000px}
table{border-collapse:collapse;margin:1em 0}
td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.note{color:#555;font-size:90%}
"""


def _charts(report: dict[str, Any]) -> list[str]:
    runs = {name: report[name] for name in RUNS}
    records = report["records"]
    charts = [
        grouped_bars(
            "Outcome rates",
            list(OUTCOMES),
            {n: [r["decisions"]["rates"][o] for o in OUTCOMES] for n, r in runs.items()},
            percent=True,
        ),
        grouped_bars(
            "Bad rate by outcome (loans with a known outcome)",
            list(OUTCOMES),
            {n: [r["performance"][o]["bad_rate"] for o in OUTCOMES] for n, r in runs.items()},
            percent=True,
        ),
        histogram("Score (PD) distribution", {n: [d["score"] for d in records[n]["decisions"]] for n in runs}),
    ]
    for stage, key, title in (
        ("candidates", "firing", "Raw detector candidates (firing)"),
        ("feed", "firing", "Alerts after dedup (feed, firing)"),
        ("notifications", "trigger", "Notifications after grouping"),
    ):
        charts.append(
            grouped_bars(
                title, list(LEVELS), {n: [float(r["alerts"][stage][key][lv]) for lv in LEVELS] for n, r in runs.items()}
            )
        )
    charts.append(
        grouped_bars(
            "Decision time, ms (measured offline)",
            ["p50", "p95", "p99"],
            {n: [r["decision_time_ms"][p] for p in ("p50", "p95", "p99")] for n, r in runs.items()},
        )
    )
    return charts


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _incidents(report: dict[str, Any]) -> str:
    rows = []
    for name in RUNS:
        for one in report[name]["incidents"]["each"]:
            for stage in ("raw", "managed"):
                d = one[stage]
                rows.append(
                    (
                        name,
                        one["label"],
                        one["customer_id"],
                        stage,
                        "yes" if d["detected"] else "missed",
                        d["level"] or "",
                        "" if d["delay_s"] is None else f"{d['delay_s']:g}",
                        ", ".join(d["detectors"]),
                    )
                )
    if not rows:
        return '<p class="note">No labelled incidents in this stream (label transactions with features.incident).</p>'
    return _table(("config", "incident", "customer", "alerts", "detected", "level", "delay s", "detectors"), rows)


def _matrix(report: dict[str, Any]) -> str:
    matrix = report["comparison"]["outcome_matrix"]
    rows = [(f"current: {old}", *(matrix[old][o] for o in OUTCOMES)) for old in OUTCOMES]
    return _table(("", *(f"new: {o}" for o in OUTCOMES)), rows)


def _strategy(curves: dict[str, list[dict[str, float]]]) -> str:
    if not curves:
        return "<p>No labelled outcomes in the stream.</p>"
    targets = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    rows = []
    for model, curve in curves.items():
        cells = []
        for target in targets:
            p = min(curve, key=lambda q: abs(q["approval_rate"] - target))
            cells.append(f"{p['bad_rate_approved']:.2%} ({p['approval_rate']:.0%}, PD < {p['cutoff']:.3f})")
        rows.append((model, *cells))
    return _table(("model", *(f"~{t:.0%} approved" for t in targets)), rows)


def html_report(report: dict[str, Any]) -> str:
    """The whole page (see module doc)."""
    data = report["data"]
    cur, new = report["current"]["config"], report["new"]["config"]
    streams = ", ".join(f"{n} {escape(t)}" for t, n in data["by_topic"].items())
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>riskmon backtest: {escape(data['file'])}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Backtest of {escape(new['source'])}</h1>",
        f"<p>Stream <code>{escape(data['file'])}</code>: {data['events']} events ({streams}), "
        f"{data['invalid']} invalid (dead letters), {len(data['incidents'])} labelled incidents.<br>"
        f"Current: <code>{escape(cur['policy_version'])}</code> ({escape(cur['source'])}); "
        f"new: <code>{escape(new['policy_version'])}</code> ({escape(new['source'])}).</p>",
        "<h2>Side by side</h2>",
        _table(("", "current", "new", "change"), table_rows(report)),
        f"<p>{escape(outcome_moves(report))}</p>",
        _matrix(report),
        '<div class="charts">',
        *_charts(report),
        "</div>",
        "<h2>Cut-off strategy (new configuration)</h2>",
        "<p>Approving every application whose PD is below a cut-off: the share approved against the bad rate "
        "among those approvals, for each model on the same labelled loans "
        "(<code>riskmon policy suggest</code> picks cut-offs from such a curve).</p>",
        _strategy(report["new"].get("strategy", {})),
        "<h2>Labelled incidents</h2>",
        _incidents(report),
        '<h2>How to read this</h2><ul class="note">',
        "<li>Event time drives every clock; the same stream and configurations always give the same figures, "
        "except the measured decision times.</li>",
        "<li>Bad rates count only loans whose outcome is in the stream: a recorded stream has outcomes for loans "
        "the live policy approved, so an approval the live policy refused has none (see the counts).</li>",
        "<li>Raw candidates are every detector transition (risk.alerts.candidates); "
        "the feed is the alert manager's output after dedup "
        "(muted alerts left out); notifications are what receivers would get after grouping.</li>",
        "</ul></body></html>",
    ]
    return "".join(parts)
