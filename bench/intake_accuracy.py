"""Intake's field-level accuracy and speed on generated scanned forms.

    python -m bench.intake_accuracy [--forms 200] [--min-confidence 85] [--json OUT.json]

Generates ``--forms`` standard application forms from the demo's public data
(Lending Club rows, :mod:`riskmon.intake.generate`), reads each clean (PNG)
and degraded (rotation, blur, noise, JPEG artefacts; every third one as a
PDF) with the real Tesseract, and compares each field with the value printed
on the form. Per field type and kind of scan it reports:

* ``accuracy``: the share of fields whose value went into the application and
  equals the truth;
* ``sure``: the share read with enough confidence to be used unmarked;
* ``wrong unmarked``: values used unmarked that differ from the truth.

A calibration table follows: for each field type, how many values read
with at least a given confidence were wrong, to choose ``--min-confidence``.
Then pages per second (one process, Tesseract on one thread), the share of
degraded forms that go to review (INTAKE_UNCERTAIN) or to the dead-letter
topic (and how many went through unmarked with any wrong field), and the
check the issue asks for: no wrong amount, term or income was
produced without being marked uncertain (the script exits 1 otherwise).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from riskmon.demo.data import load_records
from riskmon.intake import DEFAULT_MIN_CONFIDENCE, read_document, standard_template
from riskmon.intake.generate import degrade, encode, fill_form

_GUARDED = ("amount", "term_months", "annual_income")
_THRESHOLDS = (50, 60, 70, 80, 85, 90)


def _tally() -> dict[str, int]:
    return {"fields": 0, "correct": 0, "sure": 0, "wrong_unmarked": 0}


def run(forms: int, min_confidence: float) -> dict[str, Any]:
    """Read ``forms`` clean and ``forms`` degraded forms; the measurements as a dict."""
    template = standard_template()
    types = {spec.name: spec.type for spec in template.fields}
    by_type: dict[str, dict[str, dict[str, int]]] = {"clean": defaultdict(_tally), "degraded": defaultdict(_tally)}
    outcome: dict[str, dict[str, int]] = {kind: defaultdict(int) for kind in by_type}
    guarded_wrong: list[str] = []
    # field type -> threshold -> [values at or above it, of which wrong]
    calibration: dict[str, dict[int, list[int]]] = defaultdict(lambda: {t: [0, 0] for t in _THRESHOLDS})
    pages, seconds = 0, 0.0
    for index, record in enumerate(load_records("lending_club", limit=forms)):
        form = fill_form(record.application)
        app_id = record.application["application_id"]
        scans = {
            "clean": encode(form.image, "png"),
            "degraded": encode(degrade(form.image, app_id), "pdf" if index % 3 == 0 else "jpeg"),
        }
        for kind, data in scans.items():
            started = time.perf_counter()
            result = read_document(data, template, min_confidence=min_confidence)
            seconds += time.perf_counter() - started
            pages += max(result.pages, 1)
            if result.error is not None:
                outcome[kind]["dead_letter"] += 1
            elif result.uncertain:
                outcome[kind]["review"] += 1
            else:
                outcome[kind]["clean_through"] += 1
            through = result.error is None and not result.uncertain
            wrong = [r for r in result.readings if r.name in form.expected and r.value != form.expected[r.name]]
            if through and any(r.state == "read" for r in wrong):
                outcome[kind]["through_with_a_wrong_field"] += 1
            for reading in result.readings:
                truth = form.expected.get(reading.name)
                if truth is None:
                    continue
                tally = by_type[kind][types[reading.name]]
                tally["fields"] += 1
                used = reading.state in ("read", "uncertain")
                if used and reading.confidence is not None:
                    for threshold in _THRESHOLDS:
                        if reading.confidence >= threshold:
                            calibration[types[reading.name]][threshold][0] += 1
                            calibration[types[reading.name]][threshold][1] += reading.value != truth
                tally["correct"] += used and reading.value == truth
                tally["sure"] += reading.state == "read"
                if reading.state == "read" and reading.value != truth:
                    tally["wrong_unmarked"] += 1
                    if reading.name in _GUARDED and result.error is None:
                        guarded_wrong.append(f"{kind} {app_id} {reading.name}")
        if (index + 1) % 20 == 0:
            print(f"intake_accuracy: {index + 1} of {forms} forms read", file=sys.stderr, flush=True)
    return {
        "forms": forms,
        "min_confidence": min_confidence,
        "by_type": {kind: dict(sorted(t.items())) for kind, t in by_type.items()},
        "outcomes": {kind: dict(o) for kind, o in outcome.items()},
        "pages": pages,
        "pages_per_second": pages / seconds if seconds else 0.0,
        "guarded_wrong_unmarked": guarded_wrong,
        "calibration": {name: {str(t): v for t, v in c.items()} for name, c in sorted(calibration.items())},
    }


def _report(result: dict[str, Any]) -> str:
    lines = [f"forms: {result['forms']} clean + {result['forms']} degraded, min_confidence {result['min_confidence']}"]
    lines.append("| scan | field type | fields | accuracy | read sure | wrong unmarked |")
    lines.append("|---|---|---:|---:|---:|---:|")
    for kind, types in result["by_type"].items():
        for name, t in types.items():
            n = t["fields"]
            lines.append(
                f"| {kind} | {name} | {n} | {t['correct'] / n:.1%} | {t['sure'] / n:.1%} | {t['wrong_unmarked']} |"
            )
    lines.append("")
    lines.append("values used at confidence >= T: wrong / all (clean and degraded together)")
    lines.append("| field type | " + " | ".join(f"T={t}" for t in _THRESHOLDS) + " |")
    lines.append("|---|" + "---:|" * len(_THRESHOLDS))
    for name, by_threshold in result["calibration"].items():
        cells = " | ".join(f"{by_threshold[str(t)][1]} / {by_threshold[str(t)][0]}" for t in _THRESHOLDS)
        lines.append(f"| {name} | {cells} |")
    lines.append("")
    for kind, o in result["outcomes"].items():
        total = sum(o.values())
        shares = ", ".join(f"{k} {v} ({v / total:.1%})" for k, v in sorted(o.items()))
        lines.append(f"{kind}: {shares}")
    lines.append(f"pages_per_second: {result['pages_per_second']:.2f}")
    lines.append(f"wrong amount/term/income used unmarked: {len(result['guarded_wrong_unmarked'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forms", type=int, default=200)
    parser.add_argument("--min-confidence", type=float, default=DEFAULT_MIN_CONFIDENCE)
    parser.add_argument("--json", type=Path, default=None, help="also write the measurements here")
    args = parser.parse_args(argv)
    result = run(args.forms, args.min_confidence)
    print(_report(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 1 if result["guarded_wrong_unmarked"] else 0


if __name__ == "__main__":
    sys.exit(main())
