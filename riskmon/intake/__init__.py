"""Intake: scanned application forms (PNG, JPEG, PDF) into ``credit.applications`` events.

Read a document with :func:`read_document` and the shipped template
(:func:`standard_template`); the result holds the application (with
per-field confidence in its ``intake`` object) or the reason it goes to the
dead-letter topic. ``riskmon intake FILE...`` and ``POST /v1/intake`` produce
the results to Kafka. See docs/intake.md.
"""

from riskmon.intake.intake import DEFAULT_MIN_CONFIDENCE, FieldReading, IntakeResult, read_document
from riskmon.intake.ocr import OcrUnavailable, tesseract_available
from riskmon.intake.template import Template, TemplateError, load_template, standard_template

__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "FieldReading",
    "IntakeResult",
    "OcrUnavailable",
    "Template",
    "TemplateError",
    "load_template",
    "read_document",
    "standard_template",
    "tesseract_available",
]
