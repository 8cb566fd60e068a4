"""Intake with the real Tesseract on generated forms (fails, not skips, without it under CI=true).

The forms are the standard form filled from the demo's public data
(riskmon.intake.generate): the truth is what was printed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

import pytest

from riskmon.demo.data import load_records
from riskmon.intake import read_document, standard_template
from riskmon.intake.generate import blank_form, degrade, encode, fill_form, synthetic_applicant
from riskmon.schemas import Application, dumps
from tests.tesseract import require_tesseract

TEMPLATE = standard_template()
CORE = ("submitted_at", "amount", "currency", "term_months", "annual_income", "product")


@pytest.fixture(scope="module")
def records():
    require_tesseract()
    return load_records("lending_club", limit=3)


@pytest.mark.parametrize("fmt", ["png", "pdf", "jpeg"])
def test_a_clean_form_reads_exactly(records, fmt):
    form = fill_form(records[0].application)
    result = read_document(encode(form.image, fmt), TEMPLATE)
    assert result.error is None, result.error
    values = {r.name: r.value for r in result.readings}
    for name, truth in form.expected.items():
        assert values[name] == truth, name
    for name in CORE:
        assert result.application is not None and name in result.application or name.startswith("features")
    app = Application.from_dict(result.application)  # a valid contract application
    assert app.amount == records[0].application["amount"]
    assert app.applicant == {k: form.expected[f"applicant.{k}"] for k in ("name", "phone", "email")}


def test_a_badly_degraded_form_marks_its_doubtful_fields_in_intake(records):
    form = fill_form(records[1].application)
    result = read_document(encode(degrade(form.image, "heavy", strength=1.6), "jpeg"), TEMPLATE)
    assert result.error is None or result.error["type"] == "unreadable_field"
    if result.application is not None:
        intake = result.application["intake"]
        assert intake["uncertain"], "a heavily degraded form with no doubt at all"
        for item in intake["uncertain"]:
            assert set(item) == {"field", "confidence", "reason"}
        values = {r.name: r for r in result.readings}
        for name in ("amount", "term_months", "annual_income"):  # never a wrong value unmarked
            reading = values[name]
            assert reading.value == form.expected[name] or reading.state != "read", name


def test_an_unreadable_required_field_sends_the_document_to_the_dead_letter_topic(records):
    application = {k: v for k, v in records[2].application.items() if k != "annual_income"}
    form = fill_form(application)  # the income line is left blank
    data = encode(form.image, "png")
    result = read_document(data, TEMPLATE)
    assert result.application is None
    assert result.error == {
        "type": "unreadable_field",
        "message": "annual_income: is blank (a required field)",
        "field": "annual_income",
    }
    letter = result.dead_letter(datetime.now(UTC)).to_dict()
    text = dumps(letter).decode()
    assert letter["key"] == result.document and result.document.startswith("sha256:")
    person = synthetic_applicant(application["application_id"])
    for value in person.values():
        assert value not in text
    assert len(letter["raw"]) < 4000  # a description of the document, never its image
    assert person["name"] not in result.line("x.png")


def test_the_shipped_blank_form_is_the_standard_form_and_all_its_labels_are_found(records):
    shipped = resources.files("riskmon.intake").joinpath("forms", "application-form-blank.pdf").read_bytes()
    result = read_document(shipped, TEMPLATE)
    assert result.error is not None and result.error["type"] == "unreadable_field"
    assert all(r.rule != "label_not_found" for r in result.readings)
    assert all(r.state == "blank" for r in result.readings)
    assert blank_form().size == (1240, 1753)


def test_not_a_document_is_refused_with_its_hash(records):
    result = read_document(b"GIF89a not a form", TEMPLATE)
    assert result.error is not None and result.error["type"] == "unreadable_document"
    assert result.application is None


def test_the_command_line_writes_forms_and_reads_them_without_kafka(records, tmp_path, capsys):
    from riskmon.cli.commands import main

    assert main(["intake-forms", str(tmp_path), "--count", "1", "--format", "pdf"]) == 0
    written = capsys.readouterr().out.split()
    assert written == [str(tmp_path / "lc-000001.pdf")]
    assert main(["intake", "--dry-run", written[0]]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{written[0]}: application lc-000001, 13 of 13 fields read")
    assert synthetic_applicant("lc-000001")["name"] not in line
    assert main(["intake", "--dry-run", str(tmp_path / "missing.png")]) == 2
    assert "missing.png: no such file" in capsys.readouterr().err
    assert main(["intake", "--dry-run", "--min-confidence", "101", written[0]]) == 2
