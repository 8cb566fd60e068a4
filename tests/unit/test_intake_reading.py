"""Intake's pure parts: the template, field parsing by the contract's rules, locating values, assembling.

No OCR here: words are made by hand, so each rule is tested exactly.
"""

from __future__ import annotations

import pytest
import yaml

from riskmon.intake.fields import FieldRejected, parse_field
from riskmon.intake.intake import FieldReading, IntakeResult, assemble
from riskmon.intake.locate import locate
from riskmon.intake.ocr import Word
from riskmon.intake.template import FieldSpec, TemplateError, parse_template, standard_template
from riskmon.schemas import Application, dumps

# -- template -------------------------------------------------------------------


def _doc(**changes: object) -> dict:
    doc = yaml.safe_load(
        """
id: t1
fields:
  - {name: application_id, label: "Application:", type: id, required: true}
  - {name: customer_id, label: "Customer:", type: id, required: true}
  - {name: submitted_at, label: "Date:", type: timestamp, required: true}
  - {name: amount, box: [0.4, 0.1, 0.9, 0.15], type: money, required: true}
  - {name: term_months, label: "Term:", type: integer, required: true}
  - {name: annual_income, label: "Income:", type: money, required: true}
"""
    )
    doc.update(changes)
    return doc


def test_the_standard_template_loads_and_reads_every_required_contract_field():
    template = standard_template()
    names = {f.name for f in template.fields}
    assert {"application_id", "customer_id", "submitted_at", "amount", "term_months", "annual_income"} <= names
    assert template.field("applicant.name").personal
    assert template.field("amount").required


def test_a_template_with_a_box_and_labels_loads():
    template = parse_template(_doc())
    assert template.field("amount").box == (0.4, 0.1, 0.9, 0.15)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "amount", "label": "A:", "type": "money", "required": False}, "required by the contract"),
        ({"name": "amount", "label": "A:", "type": "float", "required": True}, "type: must be one of"),
        ({"name": "amount", "label": "A:", "box": [0, 0, 1, 1], "type": "money", "required": True}, "exactly one"),
        ({"name": "amount", "box": [0.5, 0, 0.4, 1], "type": "money", "required": True}, "box"),
        ({"name": "price", "label": "P:", "type": "money"}, "not a field of the application contract"),
        ({"name": "amount", "label": "A:", "type": "money", "required": True, "colour": "red"}, "colour"),
    ],
)
def test_a_broken_template_names_the_field_at_fault(change, message):
    doc = _doc()
    doc["fields"] = [f for f in doc["fields"] if f["name"] != "amount"] + [change]
    with pytest.raises(TemplateError, match=message):
        parse_template(doc)


def test_a_template_that_does_not_read_a_required_contract_field_is_refused():
    doc = _doc()
    doc["fields"] = [f for f in doc["fields"] if f["name"] != "term_months"]
    with pytest.raises(TemplateError, match="term_months"):
        parse_template(doc)


# -- fields -----------------------------------------------------------------------

MONEY = FieldSpec("amount", "money", True, label="Amount:")
INCOME = FieldSpec("annual_income", "money", True, label="Income:")
TERM = FieldSpec("term_months", "integer", True, label="Term:")


@pytest.mark.parametrize(("text", "value"), [("16,100.00", 16100.0), ("16100.00", 16100.0), ("1,234,567", 1234567.0)])
def test_money_printed_in_the_forms_format_is_read(text, value):
    assert parse_field(MONEY, text) == value


@pytest.mark.parametrize("text", ["16.100,00", "16,10.00", "1 6,100.00x", "16,100.0", "S16,100.00", "-5.00"])
def test_money_in_any_other_shape_is_refused_not_guessed(text):
    with pytest.raises(FieldRejected) as err:
        parse_field(MONEY, text)
    assert err.value.rule == "format"


def test_the_contracts_own_rule_applies_after_parsing():
    with pytest.raises(FieldRejected) as err:
        parse_field(MONEY, "0.00")  # amount must be > 0 by the contract
    assert err.value.rule == "minimum"
    assert parse_field(INCOME, "0.00") == 0.0  # income may be 0
    with pytest.raises(FieldRejected) as term:
        parse_field(TERM, "0")
    assert term.value.rule == "minimum"
    with pytest.raises(FieldRejected) as term_text:
        parse_field(TERM, "3G")
    assert term_text.value.rule == "format"


def test_ids_timestamps_choices_phones_and_emails():
    assert parse_field(FieldSpec("application_id", "id", True, label="A"), "lc- 000001") == "lc-000001"
    with pytest.raises(FieldRejected) as bad_id:
        parse_field(FieldSpec("application_id", "id", True, label="A"), "lc/000001")
    assert bad_id.value.rule == "pattern"
    stamp = FieldSpec("submitted_at", "timestamp", True, label="D")
    assert parse_field(stamp, "2026-01-04 09:00:01") == "2026-01-04T09:00:01Z"
    with pytest.raises(FieldRejected):
        parse_field(stamp, "2026-13-04 09:00:01")  # the contract's timestamp rule refuses month 13
    choice = FieldSpec("product", "choice", False, label="P", choices={"Personal loan": "personal_loan"})
    assert parse_field(choice, "personal  LOAN") == "personal_loan"
    with pytest.raises(FieldRejected) as enum:
        parse_field(choice, "Personal lean")
    assert enum.value.rule == "enum"
    assert parse_field(FieldSpec("applicant.phone", "phone", False, label="P"), "+1 555-0149 9409") == "+155501499409"
    email = FieldSpec("applicant.email", "email", False, label="E")
    assert parse_field(email, "ada. lovelace@example.com") == "ada.lovelace@example.com"
    with pytest.raises(FieldRejected):
        parse_field(email, "ada lovelace")


def test_refusals_never_quote_the_text_read():
    secret = "Ada Lovelace 19 Mayfair"
    for spec in (MONEY, TERM, FieldSpec("applicant.email", "email", False, label="E")):
        with pytest.raises(FieldRejected) as err:
            parse_field(spec, secret)
        assert "Ada" not in str(err.value) and "Mayfair" not in str(err.value)


# -- locate -----------------------------------------------------------------------


def _line(y: int, *texts_and_conf: tuple[str, float, int]) -> list[Word]:
    return [Word(text, conf, x, y, 20 * len(text), 30) for text, conf, x in texts_and_conf]


def test_a_value_is_the_text_right_of_its_label_on_the_same_line():
    words = _line(100, ("Amount", 96, 90), ("requested:", 95, 230), ("16,100.00", 91, 560)) + _line(
        162, ("Currency:", 96, 90), ("USD", 93, 560)
    )
    spec = FieldSpec("amount", "money", True, label="Amount requested:")
    found = locate(words, spec, (1240, 1754))
    assert (found.text, found.confidence, found.found) == ("16,100.00", 91.0, True)


def test_a_misread_label_still_anchors_but_a_missing_one_is_reported():
    words = _line(100, ("Amouht", 70, 90), ("requested:", 95, 230), ("16,100.00", 91, 560))
    spec = FieldSpec("amount", "money", True, label="Amount requested:")
    assert locate(words, spec, (1240, 1754)).text == "16,100.00"
    other = FieldSpec("term_months", "integer", True, label="Term in months:")
    assert locate(words, other, (1240, 1754)).found is False


def test_the_least_confident_word_is_the_values_confidence_and_a_blank_value_has_none():
    words = _line(100, ("Full", 96, 90), ("name:", 96, 180), ("Ada", 95, 560), ("Lovelace", 41, 640))
    spec = FieldSpec("applicant.name", "text", False, label="Full name:")
    assert locate(words, spec, (1240, 1754)).confidence == 41.0
    blank = _line(100, ("Full", 96, 90), ("name:", 96, 180))
    assert locate(blank, spec, (1240, 1754)).text == ""
    assert locate(blank, spec, (1240, 1754)).confidence is None


def test_a_box_field_takes_the_words_inside_its_box():
    words = _line(200, ("36", 88, 700)) + _line(400, ("99", 90, 700))
    spec = FieldSpec("term_months", "integer", True, box=(0.5, 0.1, 0.7, 0.15))
    assert locate(words, spec, (1240, 1754)).text == "36"


# -- assemble -----------------------------------------------------------------------

TEMPLATE = standard_template()
GOOD = {
    "application_id": "lc-000001",
    "customer_id": "cust-lc-000001",
    "submitted_at": "2026-01-04T09:00:00Z",
    "amount": 16100.0,
    "term_months": 36,
    "annual_income": 35000.0,
}


def _readings(**states: tuple) -> list[FieldReading]:
    out = []
    for spec in TEMPLATE.fields:
        if spec.name in states:
            out.append(FieldReading(spec.name, *states[spec.name]))
        elif spec.name in GOOD:
            out.append(FieldReading(spec.name, "read", GOOD[spec.name], 95.0))
        else:
            out.append(FieldReading(spec.name, "blank"))
    return out


def test_sure_readings_make_a_valid_contract_application_with_its_intake_record():
    app, error = assemble(_readings(), TEMPLATE, "sha256:ab", 85.0)
    assert error is None and app is not None
    parsed = Application.from_dict(app)
    assert parsed.amount == 16100.0 and parsed.term_months == 36
    assert parsed.extra["intake"]["uncertain"] == []
    assert parsed.extra["intake"]["document"] == "sha256:ab"


def test_uncertain_and_unreadable_optional_fields_are_listed_without_their_values():
    app, error = assemble(
        _readings(
            amount=("uncertain", 16100.0, 62.0),
            **{
                "applicant.name": ("uncertain", "Ada Lovelace", 40.0),
                "features.emp_length": ("unreadable", None, 30.0, "format", "is not a whole number"),
            },
        ),
        TEMPLATE,
        "sha256:ab",
        85.0,
    )
    assert error is None and app is not None
    uncertain = {u["field"]: u for u in app["intake"]["uncertain"]}
    assert uncertain["amount"] == {"field": "amount", "confidence": 62.0, "reason": "low_confidence"}
    assert uncertain["features.emp_length"]["reason"] == "format"
    assert "emp_length" not in app.get("features", {})  # an unreadable optional value is left out
    assert app["applicant"] == {"name": "Ada Lovelace"}  # personal data only in applicant
    assert "Ada" not in dumps(app["intake"]).decode()


def test_a_required_field_that_cannot_be_read_gives_a_dead_letter_with_the_hash_and_no_personal_data():
    readings = _readings(
        term_months=("unreadable", None, 33.0, "format", "is not a whole number"),
        **{"applicant.name": ("read", "Ada Lovelace", 95.0)},
    )
    app, error = assemble(readings, TEMPLATE, "sha256:ab", 85.0)
    assert app is None and error is not None
    assert error["type"] == "unreadable_field" and error["field"] == "term_months"
    result = IntakeResult(document="sha256:ab", template=TEMPLATE.id, readings=tuple(readings), error=error, pages=1)
    from datetime import UTC, datetime

    letter = result.dead_letter(datetime(2026, 12, 7, tzinfo=UTC)).to_dict()
    assert letter["key"] == "sha256:ab" and letter["source_topic"] == "intake"
    text = dumps(letter).decode()
    assert "Ada" not in text and "sha256:ab" in letter["raw"]
    assert "term_months" in result.line("form.png") and "Ada" not in result.line("form.png")


def test_a_blank_required_field_is_dead_lettered():
    app, error = assemble(_readings(annual_income=("blank",)), TEMPLATE, "sha256:ab", 85.0)
    assert app is None and error is not None and error["field"] == "annual_income"


def test_only_the_ocr_module_calls_tesseract():
    from pathlib import Path

    import riskmon

    root = Path(riskmon.__file__).parent
    callers = sorted(
        str(path.relative_to(root)) for path in root.rglob("*.py") if "import pytesseract" in path.read_text()
    )
    assert callers == ["intake/ocr.py"]


def test_multipart_bodies_give_their_files_and_anything_else_is_refused():
    from riskmon.intake.multipart import MAX_FILES, MultipartError, documents

    def part(name: str, filename: str | None, data: bytes) -> bytes:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        return f"--b\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"

    body = part("note", None, b"hello") + part("f", "a.pdf", b"%PDF-1.4\x00\xff") + b"--b--\r\n"
    assert documents("multipart/form-data; boundary=b", body) == [("a.pdf", b"%PDF-1.4\x00\xff")]
    with pytest.raises(MultipartError):
        documents("application/json", b"{}")
    with pytest.raises(MultipartError, match="no file part"):
        documents("multipart/form-data; boundary=b", part("note", None, b"x") + b"--b--\r\n")
    many = b"".join(part("f", f"{i}.png", b"x") for i in range(MAX_FILES + 1)) + b"--b--\r\n"
    with pytest.raises(MultipartError, match="at most"):
        documents("multipart/form-data; boundary=b", many)
