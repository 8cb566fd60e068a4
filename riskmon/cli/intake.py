"""``riskmon intake FILE...`` and ``riskmon intake-forms OUTDIR``: scanned forms in, applications out.

``intake`` reads each file (PNG, JPEG or PDF) with the form template, prints
one line per file (application id, fields read, fields uncertain; never a
value read) and produces the application to ``credit.applications`` keyed by
its ``application_id``, or the document's dead letter (reason and content
hash, never the image) to ``risk.deadletter``. ``--dry-run`` reads without
Kafka. ``intake-forms`` writes generated forms (filled from the demo's public
data, clean or degraded) or the blank form, for trials and tests.

Mistakes the user can fix raise :class:`IntakeCommandError`, printed as one
line with exit status 2. Exit status 1: some file was dead-lettered or not
delivered.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

__all__ = ["IntakeCommandError", "add_intake_parsers", "run_intake", "run_intake_forms"]


class IntakeCommandError(ValueError):
    """A problem the user can fix (a missing file, no tesseract, Kafka unreachable); one line."""


def add_intake_parsers(sub: Any) -> None:
    """Add ``intake`` and ``intake-forms`` to the command line's subparsers."""
    p = sub.add_parser(
        "intake",
        help="read scanned application forms (PNG, JPEG, PDF) by OCR and produce them as applications",
        description="Read each FILE with the form template (Tesseract OCR), print one line per file and produce "
        "the application to credit.applications, or the document's dead letter to risk.deadletter.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--template", type=Path, default=None, help="form template YAML (default: the standard form)")
    p.add_argument(
        "--min-confidence",
        type=float,
        default=None,
        metavar="N",
        help="OCR confidence (0-100) below which a field is marked uncertain (default: 85)",
    )
    p.add_argument("--dry-run", action="store_true", help="read and print the results; produce nothing")
    p.add_argument("--bootstrap", default=None, help="Kafka bootstrap servers (overrides RISKMON_KAFKA_BOOTSTRAP)")
    p.add_argument("--topic-prefix", default=None, help="prefix of every topic name (overrides RISKMON_TOPIC_PREFIX)")

    forms = sub.add_parser(
        "intake-forms",
        help="write generated application forms (from the demo's public data) or the blank form",
        description="Write N standard application forms filled from the demo's public data, clean or degraded "
        "(rotation, blur, noise, JPEG artefacts), into OUTDIR; or the blank form with --blank.",
    )
    forms.add_argument("outdir", type=Path, metavar="OUTDIR")
    forms.add_argument("--count", type=int, default=5, metavar="N", help="how many forms (default 5)")
    forms.add_argument("--degraded", action="store_true", help="make them look badly scanned")
    forms.add_argument("--format", dest="fmt", default="png", choices=["png", "jpeg", "pdf"])
    forms.add_argument("--source", default="lending_club", choices=["lending_club", "credit_data"])
    forms.add_argument("--blank", action="store_true", help="write only the blank form as PDF")


def _template(path: Path | None) -> Any:
    from riskmon.intake import TemplateError, load_template, standard_template

    try:
        return standard_template() if path is None else load_template(path)
    except TemplateError as exc:
        raise IntakeCommandError(f"template: {exc}") from None


def run_intake(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Read every file; produce its application or dead letter unless ``--dry-run``."""
    out = out or sys.stdout  # looked up now, not at import: tests and callers may replace it
    from riskmon.intake import DEFAULT_MIN_CONFIDENCE, OcrUnavailable, read_document, tesseract_available
    from riskmon.intake.ocr import INSTALL_HINT

    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        raise IntakeCommandError(f"{missing[0]}: no such file")
    if not tesseract_available():
        raise IntakeCommandError(f"tesseract is not installed: {INSTALL_HINT}")
    threshold = DEFAULT_MIN_CONFIDENCE if args.min_confidence is None else args.min_confidence
    if not 0 <= threshold <= 100:
        raise IntakeCommandError("--min-confidence must be between 0 and 100")
    template = _template(args.template)
    sender = None if args.dry_run else _Sender(args)
    failed = 0
    for path in args.files:
        try:
            result = read_document(path.read_bytes(), template, min_confidence=threshold)
        except OcrUnavailable as exc:
            raise IntakeCommandError(str(exc)) from None
        target = ""
        if sender is not None:
            target = " -> " + sender.send(result)
        print(result.line(str(path)) + target, file=out, flush=True)
        failed += result.error is not None
    if sender is not None:
        failed += sender.finish()
    return 1 if failed else 0


class _Sender:
    """Produces results to the contract topics and counts what was not delivered."""

    def __init__(self, args: argparse.Namespace) -> None:
        from confluent_kafka import Producer

        from riskmon.cli.ops.errors import OpsError
        from riskmon.cli.ops.kafka import existing_topics, require_topic
        from riskmon.runtime.topics import topic_names
        from riskmon.settings import PRODUCER_DEFAULTS, SettingsError, settings_from_env

        try:
            settings = settings_from_env().with_overrides(
                kafka_bootstrap=args.bootstrap, topic_prefix=args.topic_prefix
            )
            config = settings.confluent_config()
            topics = existing_topics(config)
            self.names = topic_names(settings)
            require_topic(self.names.applications, topics)
            require_topic(self.names.deadletter, topics)
        except (OpsError, SettingsError) as exc:
            raise IntakeCommandError(str(exc)) from None
        self.producer = Producer({**config, **PRODUCER_DEFAULTS})
        self.undelivered = 0

    def _delivered(self, error: Any, message: Any) -> None:
        if error is not None:
            self.undelivered += 1
            print(f"riskmon intake: a message to {message.topic()} was not delivered: {error}", file=sys.stderr)

    def send(self, result: Any) -> str:
        from riskmon.schemas import dumps

        if result.application is not None:
            key = result.application_id.encode()
            self.producer.produce(
                self.names.applications, key=key, value=dumps(result.application), on_delivery=self._delivered
            )
            topic = self.names.applications
        else:
            letter = result.dead_letter(datetime.now(UTC))
            self.producer.produce(
                self.names.deadletter, key=letter.key, value=dumps(letter.to_dict()), on_delivery=self._delivered
            )
            topic = self.names.deadletter
        self.producer.poll(0)
        return topic

    def finish(self) -> int:
        left = self.producer.flush(30)
        return self.undelivered + left


def run_intake_forms(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Write generated forms (or the blank one) into ``args.outdir``."""
    out = out or sys.stdout
    from riskmon.demo.data import load_records
    from riskmon.intake.generate import blank_form, degrade, encode, fill_form

    args.outdir.mkdir(parents=True, exist_ok=True)
    if args.blank:
        path = args.outdir / "application-form-blank.pdf"
        path.write_bytes(encode(blank_form(), "pdf"))
        print(path, file=out)
        return 0
    if args.count < 1:
        raise IntakeCommandError("--count must be at least 1")
    suffix = {"png": "png", "jpeg": "jpg", "pdf": "pdf"}[args.fmt]
    for record in load_records(args.source, limit=args.count):
        app_id = record.application["application_id"]
        form = fill_form(record.application)
        image = degrade(form.image, app_id) if args.degraded else form.image
        path = args.outdir / f"{app_id}{'-degraded' if args.degraded else ''}.{suffix}"
        path.write_bytes(encode(image, args.fmt))
        print(path, file=out)
    return 0
