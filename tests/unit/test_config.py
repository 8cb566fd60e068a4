"""Configuration loading: the packaged defaults load, and each broken rule names its field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from riskmon.config import ConfigError, default_config_text, load_config, parse_config

DEFAULT = yaml.safe_load(default_config_text())


def _with(path: str, value: object) -> dict:
    """The default document with one value replaced (``a.b[2].c`` paths)."""
    doc = copy.deepcopy(DEFAULT)
    node = doc
    parts = path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if value is _DELETE:
        del node[int(last) if last.isdigit() else last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return doc


_DELETE = object()

CASES = [
    # (path changed, new value, field named in the error)
    ("currency", "usd", "currency"),  # lower-case is not ISO 4217
    ("policy.rules[0].op", "=>", "policy.rules[0].op"),  # unknown operator
    ("policy.rules[1].outcome", "approve", "policy.rules[1].outcome"),  # rules may only hold back
    ("policy.rules[2].value", "high", "policy.rules[2].value"),  # thresholds are numbers
    ("policy.rules[3].field", "salary", "policy.rules[3].field"),  # not a contract field
    ("policy.rules[4].code", "lower_case", "policy.rules[4].code"),  # codes are UPPER_SNAKE
    ("policy.rules[5].code", "POL_MAX_AMOUNT", "policy.rules[5].code"),  # duplicate reason code
    ("policy.scorecard.characteristics", [], "policy.scorecard.characteristics"),  # a score needs characteristics
    (
        "policy.scorecard.characteristics[0].bins[0].points",
        float("nan"),
        "policy.scorecard.characteristics[0].bins[0].points",
    ),
    ("policy.scorecard.characteristics[0].bins[1].upper", -1e9, "policy.scorecard.characteristics[0].bins[1].upper"),
    (
        "policy.scorecard.characteristics[4].code",
        DEFAULT["policy"]["scorecard"]["characteristics"][0]["code"],
        "policy.scorecard.characteristics[4].code",
    ),
    ("policy.scorecard.characteristics[0].field", "salary", "policy.scorecard.characteristics[0].field"),
    ("policy.cutoffs.approve_below", 0.5, "policy.cutoffs.reject_at_or_above"),  # cut-offs out of order
    ("policy.cutoffs.approve_below", 1.5, "policy.cutoffs.approve_below"),  # not a probability
    ("policy.grades.C", 0.05, "policy.grades.C"),  # grade bounds must increase
    ("policy.grades.E", 0.5, "policy.grades.E"),  # E is implicit; unknown key
    ("policy.cutoffs.aprove_below", 0.1, "policy.cutoffs.aprove_below"),  # misspelt setting
    ("policy.id", _DELETE, "policy.id"),  # required
]


@pytest.mark.parametrize("path,value,field", CASES, ids=[c[0] for c in CASES])
def test_each_broken_rule_names_its_field(path: str, value: object, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_with(path, value))
    assert info.value.field == field
    assert str(info.value).startswith(field)


def test_default_config_loads_and_has_a_stable_version() -> None:
    a, b = load_config(None), parse_config(copy.deepcopy(DEFAULT))
    assert a.version == b.version
    assert a.policy_version.startswith("rules-v1+")
    assert len(a.policy.rules) >= 5


def test_any_change_gives_a_new_version() -> None:
    changed = parse_config(_with("policy.cutoffs.approve_below", 0.085))
    assert changed.version != load_config(None).version


def test_key_order_does_not_change_the_version(tmp_path: Path) -> None:
    doc = copy.deepcopy(DEFAULT)
    reordered = {
        "detectors": doc["detectors"],
        "models": doc["models"],
        "policy": dict(reversed(list(doc["policy"].items()))),
        "currency": doc["currency"],
        "alerting": doc["alerting"],
    }
    assert parse_config(reordered).version == parse_config(doc).version


def test_load_reports_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    good = tmp_path / "good.yaml"
    good.write_text(default_config_text())
    assert load_config(good).source == str(good)


MODEL_CASES = [
    # (path changed, new value, field named in the error)
    ("models.min_labels_to_decide", -1, "models.min_labels_to_decide"),  # a count
    ("models.bad_days_past_due", 0, "models.bad_days_past_due"),  # at least one day
    ("models.champion.params", {"learning_rat": 0.1}, "models.champion.params"),  # misspelt model parameter
    ("models.challenger.params", {"prior_pd": 1.5}, "models.challenger.params"),  # the model refuses the value
    ("models.challenger.name", "logreg-binned", "models.challenger.name"),  # both roles share one name
    ("models.promotion.automatic", "yes", "models.promotion.automatic"),  # booleans are true/false
    ("models.publish_every_seconds", 0, "models.publish_every_seconds"),  # must be positive
    ("models.promotion.min_labels_", 5, "models.promotion.min_labels_"),  # unknown setting
]


@pytest.mark.parametrize("path,value,field", MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_model_settings_name_their_field(path: str, value: object, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_with(path, value))
    assert info.value.field == field


DETECTOR_CASES = [
    # (path changed, new value, field named in the error)
    (
        "detectors.customer.txn_velocity.thresholds.levels.critical",
        {"enter": 5, "exit": 4},
        "detectors.customer.txn_velocity.thresholds.levels.critical.enter",
    ),  # critical below warning
    (
        "detectors.customer.cash_24h.thresholds.levels.warning.exit",
        2500,
        "detectors.customer.cash_24h.thresholds.levels.warning.exit",
    ),  # exit above enter: no hysteresis
    (
        "detectors.portfolio.thresholds.approval_rate.levels.warning.exit",
        0.3,
        "detectors.portfolio.thresholds.approval_rate.levels.warning.exit",
    ),  # direction below: exit must be >= enter
    (
        "detectors.portfolio.thresholds.bad_rate",
        {"levels": {"warning": {"enter": 1}}},
        "detectors.portfolio.thresholds.bad_rate",
    ),  # not an indicator
    ("detectors.customer.velocity", {}, "detectors.customer.velocity"),  # misspelt detector
    (
        "detectors.model.psi_thresholds.levels.warning.min_duration",
        -5,
        "detectors.model.psi_thresholds.levels.warning.min_duration",
    ),  # negative duration
]


@pytest.mark.parametrize("path,value,field", DETECTOR_CASES, ids=[c[0] for c in DETECTOR_CASES])
def test_detector_settings_name_their_field(path: str, value: object, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_with(path, value))
    assert info.value.field == field


def test_the_champion_decides_with_its_own_cutoffs_under_the_same_rules() -> None:
    cfg = load_config(None)
    assert (cfg.model_policy.approve_below, cfg.model_policy.reject_at_or_above) == (0.058, 0.085)
    assert cfg.model_policy.rules == cfg.policy.rules and cfg.model_policy.grade_bounds == cfg.policy.grade_bounds
    with pytest.raises(ConfigError) as info:
        parse_config(_with("models.cutoffs.approve_below", 0.2))
    assert info.value.field == "models.cutoffs.reject_at_or_above"
