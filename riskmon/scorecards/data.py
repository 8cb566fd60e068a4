"""A credit history read into characteristics and outcomes, for fitting a scorecard.

Three shapes are read (see docs/models.md):

* CSV, one application per row: contract field names (``amount``,
  ``term_months``, ``annual_income``) or feature names (``revol_util`` or
  ``features.revol_util``), and the ``--target`` column;
* JSON lines of contract applications (``features`` nested), each with the
  ``--target`` field (top level or among the features);
* a recorded stream (``riskmon backtest record`` / ``sample``): wrapped
  ``credit.applications`` and ``credit.repayments`` records; each loan's
  first final repayment is its outcome (:func:`riskmon.models.labels.label_from_repayment`),
  so no target is needed.

Characteristics are named as the policy reads them (``amount``,
``features.revol_util``...), ``loan_to_income`` is derived, and identifiers,
timestamps and personal data (``applicant``) are never read.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

__all__ = ["DataError", "History", "load_history", "parse_outcome", "plain_ref"]

#: Contract fields a scorecard may read directly (``riskmon.config.FIELD_ROOTS``, without the derived one).
ROOT_FIELDS = ("amount", "term_months", "annual_income")
#: Never characteristics: identifiers, times, routing and personal data.
NOT_CHARACTERISTICS = frozenset(
    {"application_id", "customer_id", "submitted_at", "currency", "applicant", "product", "channel", "schema_version"}
)
_BAD = {"1", "true", "yes", "bad", "default", "defaulted", "charged_off"}
_GOOD = {"0", "false", "no", "good", "paid_off"}


class DataError(ValueError):
    """The history cannot be read as asked (names the file, line and field)."""


@dataclass
class History:
    """Characteristic values per application (None: missing) and each application's outcome."""

    columns: dict[str, list[float | str | None]] = field(default_factory=dict)
    bad: list[bool] = field(default_factory=list)
    skipped: int = 0  # rows without a usable outcome

    def __len__(self) -> int:
        return len(self.bad)


def parse_outcome(value: Any) -> bool | None:
    """True (bad), False (good) or None (unknown) from a label cell.

    >>> parse_outcome("bad"), parse_outcome(0), parse_outcome(True), parse_outcome(""), parse_outcome("current")
    (True, False, True, None, None)
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return None if not math.isfinite(value) else value != 0
    text = str(value).strip().lower()
    if text in _BAD:
        return True
    if text in _GOOD:
        return False
    return None


def _cell(value: Any) -> float | str | None:
    """A number, a text or None (empty, NaN, null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if not text or text.lower() in {"na", "nan", "null", "none"}:
            return None
        try:
            number = float(text)
        except ValueError:
            return text
        return number if math.isfinite(number) else None
    return None  # lists, objects: not a characteristic


def plain_ref(name: str) -> str:
    """A column's field ref: a contract root as it is, any other name as ``features.<name>``."""
    return name if name in ROOT_FIELDS or name.startswith("features.") else f"features.{name}"


def _flatten(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An application (nested ``features``) or a flat row as ``{field ref: value}``."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key in NOT_CHARACTERISTICS:
            continue
        if key == "features" and isinstance(value, Mapping):
            out.update({f"features.{k}": v for k, v in value.items()})
        else:
            out[plain_ref(key)] = value
    return out


class _Builder:
    def __init__(self, exclude: Iterable[str]) -> None:
        self.history = History()
        self.exclude = {plain_ref(e) for e in exclude}

    def add(self, row: Mapping[str, Any], bad: bool | None) -> None:
        if bad is None:
            self.history.skipped += 1
            return
        values = {k: _cell(v) for k, v in row.items() if k not in self.exclude}
        amount, income = values.get("amount"), values.get("annual_income")
        if isinstance(amount, float) and isinstance(income, float) and income > 0:
            values["loan_to_income"] = amount / income
        n = len(self.history.bad)
        for name, value in values.items():
            column = self.history.columns.get(name)
            if column is None:
                column = self.history.columns[name] = [None] * n
            column.append(value)
        for name, column in self.history.columns.items():
            if name not in values:
                column.append(None)
        self.history.bad.append(bad)


def _target_of(row: dict[str, Any], target: str, where: str) -> Any:
    for key in (target, plain_ref(target)):
        if key in row:
            return row.pop(key)
    raise DataError(f"{where}: no target column {target!r}")


def load_history(path: Path, target: str | None, *, exclude: Iterable[str] = ()) -> History:
    """Read ``path`` (CSV or JSON lines, see the module docstring); ``exclude`` names fields to leave out."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    builder = _Builder(exclude)
    if path.suffix.lower() == ".csv":
        if not target:
            raise DataError(f"{path}: a CSV needs --target (the outcome column)")
        with path.open(newline="") as f:
            for line, raw in enumerate(csv.DictReader(f), start=2):
                row = _flatten(raw)
                builder.add(row, parse_outcome(_target_of(row, target, f"{path}:{line}")))
        return _checked(builder.history, path)
    applications: dict[str, dict[str, Any]] = {}
    outcomes: dict[str, bool] = {}
    with path.open("rb") as f:
        for line, text in enumerate(f, start=1):
            if not text.strip():
                continue
            try:
                obj = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                raise DataError(f"{path}:{line}: not JSON ({exc})") from exc
            if not isinstance(obj, dict):
                raise DataError(f"{path}:{line}: expected an object")
            if "topic" in obj and isinstance(obj.get("value"), dict):
                _recorded(obj, applications, outcomes)
                continue
            if not target:
                raise DataError(f"{path}:{line}: an application needs --target (its outcome field)")
            row = _flatten(obj)
            builder.add(row, parse_outcome(_target_of(row, target, f"{path}:{line}")))
    for application_id, app in applications.items():
        builder.add(_flatten(app), outcomes.get(application_id))
    return _checked(builder.history, path)


def _recorded(obj: dict[str, Any], applications: dict[str, dict[str, Any]], outcomes: dict[str, bool]) -> None:
    """One wrapped record of a recorded stream: keep applications and each loan's first final outcome."""
    from riskmon.models.labels import label_from_repayment
    from riskmon.schemas import Repayment

    topic, value = str(obj["topic"]), obj["value"]
    if topic.endswith("credit.applications") and "application_id" in value:
        applications.setdefault(str(value["application_id"]), value)
    elif topic.endswith("credit.repayments") and "application_id" in value:
        application_id = str(value["application_id"])
        if application_id in outcomes:
            return
        try:
            label = label_from_repayment(Repayment.from_dict(value))
        except (ValueError, TypeError, KeyError):
            return  # a repayment the contract refuses is not an outcome
        if label is not None:
            outcomes[application_id] = label


def _checked(history: History, path: Path) -> History:
    if not history.bad:
        raise DataError(f"{path}: no application with a known outcome")
    if all(history.bad) or not any(history.bad):
        raise DataError(f"{path}: the outcomes are all {'bad' if history.bad[0] else 'good'}; a scorecard needs both")
    return history
