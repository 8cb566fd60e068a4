"""Edit a configuration as a structure, not as text: load the YAML, change it, dump it.

Why: a ``str.replace`` on the default YAML silently does nothing once the
default's layout, spacing or a value changes, and the test then runs on a
configuration it did not mean. Here every change names its field by path and
fails loudly when the field is not there.

A path is dotted keys with ``[i]`` for list items: ``policy.cutoffs.approve_below``,
``policy.rules[0].value``. A path-and-value change replaces a field that is
already in the document (a misspelt path is an error, not a new key); for
anything else, pass a function that changes the parsed document in place.

The configuration's version is the hash of its canonical JSON form, not of
the file's text, so a document loaded and dumped unchanged keeps its version.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from riskmon.config import RiskConfig, default_config_text, parse_config

__all__ = [
    "HAND_SET_SCORECARD",
    "Edit",
    "default_config_doc",
    "edit_config",
    "edit_document",
    "edited_config",
    "edited_default_config",
    "hand_set_scorecard",
]

#: One edit: {path: new value, ...}, or a function that changes the document in place.
Edit = Mapping[str, Any] | Callable[[Any], None]

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    pos = 0
    for match in _STEP.finditer(path):
        if match.start() != pos and path[pos : match.start()] != ".":
            raise ValueError(f"cannot read the path {path!r} at {path[pos:]!r}")
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if not steps or pos != len(path):
        raise ValueError(f"cannot read the path {path!r}")
    return steps


def _set(doc: Any, path: str, value: Any) -> None:
    *parents, last = _steps(path)
    node = doc
    for i, step in enumerate([*parents, last]):
        where = path if i == len(parents) else ".".join(str(s) for s in parents[: i + 1])
        if isinstance(step, int):
            if not (isinstance(node, list) and 0 <= step < len(node)):
                raise KeyError(f"{path}: no item {step} at {where}")
        elif not (isinstance(node, dict) and step in node):
            raise KeyError(f"{path}: no key {step!r} at {where}")
        if i < len(parents):
            node = node[step]
    node[last] = copy.deepcopy(value)


def edit_document(doc: Any, *edits: Edit) -> Any:
    """``doc`` (a parsed configuration, changed in place) with ``edits`` applied in order."""
    for edit in edits:
        if callable(edit):
            edit(doc)
        else:
            for path, value in edit.items():
                _set(doc, path, value)
    return doc


def default_config_doc(*edits: Edit) -> dict:
    """The packaged configuration, parsed, with ``edits`` applied."""
    return edit_document(yaml.safe_load(default_config_text()), *edits)


def edit_config(text: str, *edits: Edit) -> str:
    """The YAML ``text`` with ``edits`` applied: loaded, changed, dumped.

    >>> print(edit_config("a: {b: 1, c: [x, y]}\\n", {"a.b": 2, "a.c[1]": "z"}), end="")
    a:
      b: 2
      c:
      - x
      - z
    >>> edit_config("a: {b: 1}", {"a.d": 2})
    Traceback (most recent call last):
    ...
    KeyError: "a.d: no key 'd' at a.d"
    """
    return yaml.safe_dump(edit_document(yaml.safe_load(text), *edits), sort_keys=False)


def edited_default_config(*edits: Edit) -> str:
    """The packaged configuration's YAML with ``edits`` applied."""
    return yaml.safe_dump(default_config_doc(*edits), sort_keys=False)


def edited_config(*edits: Edit) -> RiskConfig:
    """The packaged configuration with ``edits`` applied, validated."""
    return parse_config(default_config_doc(*edits))


#: The hand-set linear scorecard the default configuration shipped before the fitted one
#: (``riskmon model fit-scorecard``): tests of the linear form's arithmetic and reasons use it.
HAND_SET_SCORECARD: dict[str, Any] = {
    "intercept": -3.0,
    "factors": [
        {
            "code": "LOAN_TO_INCOME",
            "description": "Requested amount is high relative to income",
            "field": "loan_to_income",
            "weight": 2.5,
            "center": 0.2,
        },
        {
            "code": "DEBT_TO_INCOME",
            "description": "Existing debt payments are high relative to income",
            "field": "features.debt_to_income",
            "weight": 0.05,
            "center": 15,
        },
        {
            "code": "DELINQUENCIES",
            "description": "Recent delinquencies on credit accounts",
            "field": "features.delinquencies_2y",
            "weight": 0.6,
            "center": 0,
        },
        {
            "code": "CREDIT_INQUIRIES",
            "description": "Many recent credit inquiries",
            "field": "features.inquiries_6m",
            "weight": 0.3,
            "center": 0,
        },
        {
            "code": "REVOLVING_UTILISATION",
            "description": "High utilisation of revolving credit",
            "field": "features.revol_util",
            "weight": 0.015,
            "center": 30,
        },
        {
            "code": "LONG_TERM",
            "description": "Long repayment term",
            "field": "term_months",
            "weight": 0.015,
            "center": 36,
        },
    ],
}


def hand_set_scorecard(doc: dict[str, Any]) -> None:
    """Edit: the hand-set linear scorecard and its cut-offs (approve < 0.12, reject >= 0.30)."""
    doc["policy"]["scorecard"] = copy.deepcopy(HAND_SET_SCORECARD)
    doc["policy"]["cutoffs"] = {"approve_below": 0.12, "reject_at_or_above": 0.30}
