"""One scanned document into a contract application, or a dead letter saying why not.

:func:`read_document` is the whole path: pages (:mod:`~riskmon.intake.pages`),
words (:mod:`~riskmon.intake.ocr`), each template field located
(:mod:`~riskmon.intake.locate`) and parsed by the contract's rules
(:mod:`~riskmon.intake.fields`). Each field ends in one state:

``read``
    valid, and read with at least ``min_confidence``: the value is used. An
    identifier (type ``id``) must moreover be read the same, as surely, by a
    second look at its line alone: a confident misread of the key is the
    one error the benchmark found that confidence alone let through.
``uncertain``
    valid but read with less confidence: the value is used *and* listed in
    the application's ``intake.uncertain``, so the policy rule
    ``INTAKE_UNCERTAIN`` sends the application to a person.
``unreadable``
    text is there but it is not a valid value (or the label is not found):
    a required field dead-letters the document; an optional one is left out
    and listed in ``intake.uncertain`` (review).
``blank``
    nothing printed: a required field dead-letters the document; an optional
    one is simply absent.

So a value below the threshold, or failing its rule, is never used silently.
Personal data read from the form (``applicant.*``) goes into ``applicant``
only: ``intake`` lists field names and confidences, never values, and
neither do results, errors or dead letters, which name the document by its
SHA-256 (never by its image).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from riskmon.intake.fields import FieldRejected, parse_field
from riskmon.intake.locate import locate
from riskmon.intake.ocr import Word, read_line, read_words
from riskmon.intake.pages import DocumentError, content_hash, document_kind, load_pages
from riskmon.intake.template import FieldSpec, Template
from riskmon.schemas import Application, DeadLetter, SchemaError, dumps

__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "DEADLETTER_SOURCE",
    "FieldReading",
    "IntakeResult",
    "assemble",
    "read_document",
]

#: Tesseract word confidence (0-100) below which a value is marked uncertain (calibrated in docs/intake.md).
DEFAULT_MIN_CONFIDENCE = 85.0
#: ``source_topic`` of intake's dead letters: the document never reached a topic.
DEADLETTER_SOURCE = "intake"
#: Dead-letter ``error.type``: a required field cannot be read / the file is not a readable document.
UNREADABLE_FIELD = "unreadable_field"
UNREADABLE_DOCUMENT = "unreadable_document"


@dataclass(frozen=True, slots=True)
class FieldReading:
    """How one template field was read: its state, value (None unless used), confidence and broken rule."""

    name: str
    state: str  # read | uncertain | unreadable | blank
    value: Any = field(default=None, repr=False)  # may be personal data
    confidence: float | None = None
    rule: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class IntakeResult:
    """The outcome for one document: an application to produce, or an error for the dead-letter topic."""

    document: str
    template: str
    readings: tuple[FieldReading, ...]
    application: dict[str, Any] | None = field(default=None, repr=False)
    error: dict[str, Any] | None = None
    pages: int = 0

    @property
    def application_id(self) -> str | None:
        return None if self.application is None else self.application["application_id"]

    @property
    def fields_read(self) -> int:
        """Fields whose value went into the application (read or uncertain)."""
        return sum(1 for r in self.readings if r.state in ("read", "uncertain"))

    @property
    def uncertain(self) -> list[FieldReading]:
        """Fields a person should check: read with low confidence, or optional ones that could not be read."""
        return [r for r in self.readings if r.state == "uncertain" or (r.state == "unreadable" and r.rule is not None)]

    def line(self, name: str) -> str:
        """The one-line result for the file called ``name`` (no value read from the form)."""
        if self.error is not None:
            return f"{name}: dead-lettered ({self.error['type']}: {self.error['message']}) document {self.document}"
        doubtful = ", ".join(
            f"{r.name} {r.confidence:.0f}" if r.confidence is not None else f"{r.name} {r.rule}" for r in self.uncertain
        )
        return (
            f"{name}: application {self.application_id}, {self.fields_read} of {len(self.readings)} fields read, "
            f"{len(self.uncertain)} uncertain" + (f" ({doubtful})" if doubtful else "")
        )

    def summary(self) -> dict[str, Any]:
        """The result as JSON (what ``POST /v1/intake`` answers per file): no personal data."""
        return {
            "document": self.document,
            "application_id": self.application_id,
            "fields_read": self.fields_read,
            "fields_uncertain": [
                {"field": r.name, "confidence": r.confidence, "reason": r.rule or "low_confidence"}
                for r in self.uncertain
            ],
            "error": self.error,
        }

    def dead_letter(self, received_at: datetime) -> DeadLetter:
        """The dead letter of a document that gave no application: the reason and the document's hash.

        ``raw`` is a small JSON description (hash, template, pages, each
        field's state and rule), never the image and never a value read.
        """
        if self.error is None:
            raise ValueError("the document gave an application; there is no dead letter")
        raw = {
            "document": self.document,
            "template": self.template,
            "pages": self.pages,
            "fields": [{"field": r.name, "state": r.state, "rule": r.rule} for r in self.readings],
        }
        return DeadLetter(
            source_topic=DEADLETTER_SOURCE,
            partition=None,
            offset=None,
            key=self.document.encode(),
            received_at=received_at,
            error=self.error,
            raw=dumps(raw),
        )


def _second_look(
    spec: FieldSpec, value: Any, region: tuple[int, int, int, int, int], pages: list[Any], min_confidence: float
) -> float:
    """The best confidence of re-reads of the value's line alone (as printed, then enlarged twice).

    A re-read counts only when it gives the very same value; 0 when none does.
    """
    best = 0.0
    for scale in (1, 2):
        words = read_line(pages[region[0]], region[1:], scale=scale)
        if not words:
            continue
        try:
            again = parse_field(spec, " ".join(w.text for w in words))
        except FieldRejected:
            continue
        if again == value:
            best = max(best, min(w.confidence for w in words))
            if best >= min_confidence:
                break
    return best


def _read_field(spec: FieldSpec, words: list[Word], pages: list[Any], min_confidence: float) -> FieldReading:
    located = locate(words, spec, pages[0].size)
    if not located.found:
        return FieldReading(spec.name, "unreadable", rule="label_not_found", detail="its label is not on the page")
    if not located.text.strip():
        return FieldReading(spec.name, "blank", rule="required" if spec.required else None, detail="is blank")
    try:
        value = parse_field(spec, located.text)
    except FieldRejected as exc:
        return FieldReading(spec.name, "unreadable", confidence=located.confidence, rule=exc.rule, detail=exc.detail)
    confidence = located.confidence if located.confidence is not None else 0.0
    if located.region is not None:
        if confidence < min_confidence:
            # unsure: read the value's line again on its own; only the same value, read surely, counts
            confidence = max(confidence, _second_look(spec, value, located.region, pages, min_confidence))
        elif spec.type == "id":
            # an identifier keys the application: even a sure read must be read the same, surely, once more
            confidence = min(confidence, _second_look(spec, value, located.region, pages, min_confidence))
    state = "read" if confidence >= min_confidence else "uncertain"
    return FieldReading(spec.name, state, value=value, confidence=round(confidence, 1))


def assemble(
    readings: list[FieldReading], template: Template, document: str, min_confidence: float
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(application, None) from the field readings, or (None, dead-letter error) when a required field failed."""
    for reading in readings:
        spec = template.field(reading.name)
        if spec.required and reading.state in ("blank", "unreadable"):
            return None, {
                "type": UNREADABLE_FIELD,
                "message": f"{reading.name}: {reading.detail} (a required field)",
                "field": reading.name,
            }
    application: dict[str, Any] = {"schema_version": 1}
    for reading in readings:
        if reading.state not in ("read", "uncertain"):
            continue
        head, _, rest = reading.name.partition(".")
        if head in ("features", "applicant") and rest:
            application.setdefault(head, {})[rest] = reading.value
        else:
            application[reading.name] = reading.value
    uncertain = [r for r in readings if r.state == "uncertain" or (r.state == "unreadable" and r.rule is not None)]
    application["intake"] = {
        "document": document,
        "template": template.id,
        "min_confidence": min_confidence,
        "fields_read": sum(1 for r in readings if r.state in ("read", "uncertain")),
        "uncertain": [
            {"field": r.name, "confidence": r.confidence, "reason": r.rule or "low_confidence"} for r in uncertain
        ],
        "confidence": {r.name: r.confidence for r in readings if r.confidence is not None},
    }
    try:
        Application.from_dict(application)  # the contract's final word on the whole application
    except SchemaError as exc:
        return None, {
            "type": UNREADABLE_FIELD,
            "message": f"{exc.field}: does not meet the contract's rule {exc.rule!r}",
            "field": exc.field or None,
        }
    return application, None


def read_document(data: bytes, template: Template, *, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> IntakeResult:
    """Read one document (PNG, JPEG or PDF bytes) with ``template``.

    Raises :class:`~riskmon.intake.ocr.OcrUnavailable` when Tesseract cannot
    run (a problem of the machine, not of the document); every problem of
    the document is in the result's ``error``.
    """
    document = content_hash(data)
    try:
        document_kind(data)
        pages = load_pages(data)
    except DocumentError as exc:
        refused = {"type": UNREADABLE_DOCUMENT, "message": str(exc), "field": None}
        return IntakeResult(document=document, template=template.id, readings=(), error=refused)
    words = [word for index, page in enumerate(pages) for word in read_words(page, page=index)]
    readings = [_read_field(spec, words, pages, min_confidence) for spec in template.fields]
    application, error = assemble(readings, template, document, min_confidence)
    return IntakeResult(
        document=document,
        template=template.id,
        readings=tuple(readings),
        application=application,
        error=error,
        pages=len(pages),
    )
