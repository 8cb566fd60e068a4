"""Form templates: which fields a scanned form holds, where, and of what type.

A template is a YAML file (the standard one is ``forms/application-v1.yaml``,
shipped with the package). Each field names the contract field it fills, how
to find its value on the page (a printed ``label`` that anchors it, or a
``box`` in page fractions), how to turn the printed text into a value
(``type``) and whether the application cannot exist without it
(``required``). The rule a value must meet is the contract's own rule for that
field (:mod:`riskmon.intake.fields`), so the template cannot weaken it.

Loading checks everything and raises :class:`TemplateError` naming the field
at fault, so a broken template fails at start, not on the first document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from riskmon.schemas import Application

__all__ = ["FIELD_TYPES", "FieldSpec", "Template", "TemplateError", "load_template", "standard_template"]

#: How printed text becomes a value (riskmon.intake.fields has one parser per type).
FIELD_TYPES = ("id", "timestamp", "money", "integer", "currency", "choice", "text", "phone", "email", "code")
#: Contract fields a ``name`` may fill directly (the application's own fields).
_TOP_LEVEL = tuple(f.name for f in Application.SPEC.fields if f.name not in ("features", "applicant"))
_REQUIRED_BY_CONTRACT = frozenset(f.name for f in Application.SPEC.fields if f.required)
STANDARD_TEMPLATE = "application-v1.yaml"


class TemplateError(ValueError):
    """A template breaks a rule; the message names the field at fault."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a form: the contract field it fills and how to read it."""

    name: str
    type: str
    required: bool
    label: str | None = None
    box: tuple[float, float, float, float] | None = None
    choices: dict[str, str] = field(default_factory=dict)

    @property
    def personal(self) -> bool:
        """True for ``applicant.*``: personal data, never logged, never in ``intake``."""
        return self.name.startswith("applicant.")


@dataclass(frozen=True, slots=True)
class Template:
    """A validated form template."""

    id: str
    title: str
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec:
        """The field that fills ``name``; KeyError if the template has none."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)


def _field(raw: Any, where: str) -> FieldSpec:
    if not isinstance(raw, dict):
        raise TemplateError(f"{where}: must be a mapping")
    unknown = sorted(set(raw) - {"name", "label", "box", "type", "required", "choices"})
    if unknown:
        raise TemplateError(f"{where}.{unknown[0]}: is not a known setting")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise TemplateError(f"{where}.name: is required")
    head, _, rest = name.partition(".")
    if rest:
        if head not in ("features", "applicant") or "." in rest or not 1 <= len(rest) <= 64:
            raise TemplateError(f"{where}.name: must be a contract field, features.<name> or applicant.<name>")
    elif name not in _TOP_LEVEL:
        raise TemplateError(f"{where}.name: {name!r} is not a field of the application contract")
    kind = raw.get("type")
    if kind not in FIELD_TYPES:
        raise TemplateError(f"{where}.type: must be one of {', '.join(FIELD_TYPES)}")
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise TemplateError(f"{where}.required: must be true or false")
    if name in _REQUIRED_BY_CONTRACT and not required:
        raise TemplateError(f"{where}.required: {name} is required by the contract")
    label, box = raw.get("label"), raw.get("box")
    if (label is None) == (box is None):
        raise TemplateError(f"{where}: give exactly one of label and box")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        raise TemplateError(f"{where}.label: must be a non-empty string")
    parsed_box = None
    if box is not None:
        if (
            not isinstance(box, list)
            or len(box) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in box)
            or not (box[0] < box[2] and box[1] < box[3])
        ):
            raise TemplateError(f"{where}.box: must be [left, top, right, bottom], fractions of the page, left<right")
        parsed_box = (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
    choices = raw.get("choices", {})
    if kind == "choice":
        if not isinstance(choices, dict) or not choices:
            raise TemplateError(f"{where}.choices: a choice field needs printed text -> value pairs")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in choices.items()):
            raise TemplateError(f"{where}.choices: keys and values must be strings")
    elif choices:
        raise TemplateError(f"{where}.choices: only a choice field has choices")
    return FieldSpec(name=name, type=kind, required=required, label=label, box=parsed_box, choices=dict(choices))


def parse_template(doc: Any) -> Template:
    """A :class:`Template` from a decoded YAML document."""
    if not isinstance(doc, dict):
        raise TemplateError("template: must be a mapping with id, title and fields")
    template_id, title, raw_fields = doc.get("id"), doc.get("title", ""), doc.get("fields")
    if not isinstance(template_id, str) or not template_id:
        raise TemplateError("id: is required")
    if not isinstance(title, str):
        raise TemplateError("title: must be a string")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise TemplateError("fields: must be a non-empty list")
    fields = tuple(_field(raw, f"fields[{i}]") for i, raw in enumerate(raw_fields))
    names = [f.name for f in fields]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise TemplateError(f"fields: {duplicate} appears twice")
    missing = sorted(_REQUIRED_BY_CONTRACT - set(names))
    if missing:
        raise TemplateError(f"fields: the contract requires {', '.join(missing)}; the template does not read it")
    return Template(id=template_id, title=title, fields=fields)


def load_template(path: str | Path) -> Template:
    """Load and validate the template in ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path}: not valid YAML ({exc})") from None
    return parse_template(doc)


def standard_template() -> Template:
    """The standard application form's template, shipped with the package."""
    text = resources.files("riskmon.intake").joinpath("forms", STANDARD_TEMPLATE).read_text(encoding="utf-8")
    return parse_template(yaml.safe_load(text))
