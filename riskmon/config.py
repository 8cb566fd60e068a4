"""The monitor's configuration file: thresholds, policy and routing.

One YAML (or JSON) file, named by ``RISKMON_CONFIG``, validated as a whole on
load. Errors name the field at fault with its path (``policy.rules[2].op``) so
an operator can fix a file without reading code. The defaults ship inside the
package (``default_config.yaml``) and are what runs when no file is given.

The configuration's *version* is the SHA-256 of its canonical JSON form, so two
files that mean the same thing share a version, and any change, however small,
gives a new one. Decisions carry it in ``policy_version``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml

from riskmon.ratio_fields import split_ratio
from riskmon.scorecard_points import PointsError, PointsScorecard, parse_points_scorecard

__all__ = [
    "ConfigError",
    "Factor",
    "Policy",
    "RiskConfig",
    "Rule",
    "LearnerSpec",
    "ModelsConfig",
    "PromotionRule",
    "load_config",
    "parse_config",
    "OPERATORS",
    "RULE_OUTCOMES",
    "FIELD_ROOTS",
]

#: Operators a rule may use, in the order they are documented.
OPERATORS = (">", ">=", "<", "<=", "==", "!=")
#: Outcomes a hard rule may force.
RULE_OUTCOMES = ("review", "reject")
#: Fields a rule or factor may read, besides ``features.<name>``.
FIELD_ROOTS = ("amount", "term_months", "annual_income", "loan_to_income", "intake_uncertain")
GRADE_NAMES = ("A", "B", "C", "D")


class ConfigError(ValueError):
    """A configuration value breaks a rule; ``field`` is its dotted path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Rule:
    """A hard policy rule: when ``field op value`` holds, force ``outcome``."""

    code: str
    description: str
    field: str
    op: str
    value: float
    outcome: Literal["review", "reject"]


@dataclass(frozen=True, slots=True)
class Factor:
    """One scorecard factor: adds ``weight * (x - center)`` to the logit."""

    code: str
    description: str
    field: str
    weight: float
    center: float


@dataclass(frozen=True, slots=True)
class CustomerRules:
    """Rules on the customer's live risk profile (:mod:`riskmon.profile`); a ``None`` turns one off.

    * ``alert_level``: an open customer alert at or above it sends the
      application to ``alert_outcome`` (``CUSTOMER_ALERT``);
    * ``delinquency_review_days`` / ``delinquency_reject_days``: an open loan
      this many days past due sends it to review / reject (``EXISTING_DELINQUENCY``);
    * ``exposure_limit`` / ``exposure_income_multiple``: outstanding exposure
      plus the amount asked above the limit, or above that multiple of the
      annual income, sends it to ``exposure_outcome`` (``EXPOSURE_LIMIT``);
    * ``max_profile_delay_seconds``: when a profile writer (transactions,
      repayments, alerts) last ran further behind than this, approvals go to
      review (``PROFILE_STALE``);
    * ``hold_window_hours``: when a customer's alert turns critical, each of
      the customer's approvals decided within this window is re-issued as a
      ``hold`` (0 turns holds off).
    """

    alert_level: str | None = None
    alert_outcome: Literal["review", "reject"] = "review"
    delinquency_review_days: int | None = None
    delinquency_reject_days: int | None = None
    exposure_limit: float | None = None
    exposure_income_multiple: float | None = None
    exposure_outcome: Literal["review", "reject"] = "review"
    max_profile_delay_seconds: float | None = None
    hold_window_hours: float = 0.0


@dataclass(frozen=True, slots=True)
class Policy:
    """The rule-based decision policy."""

    id: str
    rules: tuple[Rule, ...]
    intercept: float
    factors: tuple[Factor, ...]
    approve_below: float
    reject_at_or_above: float
    grade_bounds: tuple[float, float, float, float]
    customer: CustomerRules = CustomerRules()  # off unless the configuration sets policy.customer_rules
    points: PointsScorecard | None = None  # a fitted points scorecard (`kind: points`) scores instead of `factors`


@dataclass(frozen=True, slots=True)
class LearnerSpec:
    """One online model: its name and constructor parameters."""

    name: str
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PromotionRule:
    """When the challenger may replace the champion."""

    automatic: bool
    min_labels: int
    min_auc_gain: float
    max_logloss_increase: float


@dataclass(frozen=True, slots=True)
class ModelsConfig:
    """Online models: roles, cold start, labels, publishing and promotion."""

    min_labels_to_decide: int
    bad_days_past_due: int
    champion: LearnerSpec
    challenger: LearnerSpec
    publish_every_labels: int
    publish_every_seconds: float
    promotion: PromotionRule
    approve_below: float
    reject_at_or_above: float


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """The whole validated configuration and its content hash."""

    currency: str
    policy: Policy
    models: ModelsConfig
    detectors: Any  # riskmon.detectors.config.DetectorsConfig (imported lazily: River is heavy)
    version: str
    source: str
    alerting: Any = None  # riskmon.alerting.config.AlertingConfig (the packaged defaults when the file has none)

    @property
    def model_policy(self) -> Policy:
        """The policy with the models' own PD cut-offs, for decisions the champion scores."""
        return replace(
            self.policy, approve_below=self.models.approve_below, reject_at_or_above=self.models.reject_at_or_above
        )

    @property
    def policy_version(self) -> str:
        """What every decision carries: policy name plus configuration hash."""
        return f"{self.policy.id}+{self.version[:12]}"


# -- validation helpers ------------------------------------------------------


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(field, f"must be a mapping, got {type(value).__name__}")
    return value


def _get(m: Mapping[str, Any], key: str, field: str) -> Any:
    if key not in m:
        raise ConfigError(f"{field}.{key}" if field else key, "is required")
    return m[key]


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(field, f"must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(field, "must be finite")
    return float(value)


def _text(value: Any, field: str, *, max_len: int = 200) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(field, "must be a non-empty string")
    if len(value) > max_len:
        raise ConfigError(field, f"must be at most {max_len} characters")
    return value


def _code(value: Any, field: str) -> str:
    text = _text(value, field, max_len=64)
    if not all(c.isupper() or c.isdigit() or c == "_" for c in text):
        raise ConfigError(field, f"must be UPPER_SNAKE_CASE, got {text!r}")
    return text


def _field_ref(value: Any, field: str) -> str:
    text = _text(value, field, max_len=80)
    if text in FIELD_ROOTS:
        return text
    if text.startswith("features.") and len(text) > len("features."):
        return text
    if split_ratio(text) is not None:  # a ratio field, FIELD/FIELD (riskmon.ratio_fields)
        return text
    raise ConfigError(
        field, f"must be one of {', '.join(FIELD_ROOTS)}, features.<name> or a ratio FIELD/FIELD, got {text!r}"
    )


def _unknown_keys(m: Mapping[str, Any], allowed: set[str], field: str) -> None:
    extra = sorted(set(m) - allowed)
    if extra:
        where = f"{field}.{extra[0]}" if field else extra[0]
        raise ConfigError(where, "is not a known setting (check its spelling)")


def _rule(raw: Any, field: str) -> Rule:
    m = _mapping(raw, field)
    _unknown_keys(m, {"code", "description", "field", "op", "value", "outcome"}, field)
    op = _get(m, "op", field)
    if op not in OPERATORS:
        raise ConfigError(f"{field}.op", f"must be one of {' '.join(OPERATORS)}, got {op!r}")
    outcome = _get(m, "outcome", field)
    if outcome not in RULE_OUTCOMES:
        raise ConfigError(f"{field}.outcome", f"must be review or reject, got {outcome!r}")
    return Rule(
        code=_code(_get(m, "code", field), f"{field}.code"),
        description=_text(_get(m, "description", field), f"{field}.description"),
        field=_field_ref(_get(m, "field", field), f"{field}.field"),
        op=op,
        value=_number(_get(m, "value", field), f"{field}.value"),
        outcome=outcome,
    )


def _factor(raw: Any, field: str) -> Factor:
    m = _mapping(raw, field)
    _unknown_keys(m, {"code", "description", "field", "weight", "center"}, field)
    return Factor(
        code=_code(_get(m, "code", field), f"{field}.code"),
        description=_text(_get(m, "description", field), f"{field}.description"),
        field=_field_ref(_get(m, "field", field), f"{field}.field"),
        weight=_number(_get(m, "weight", field), f"{field}.weight"),
        center=_number(m.get("center", 0.0), f"{field}.center"),
    )


def _probability(value: Any, field: str) -> float:
    p = _number(value, field)
    if not 0.0 < p < 1.0:
        raise ConfigError(field, f"must be a probability strictly between 0 and 1, got {p}")
    return p


def _unique_codes(codes: list[str], field: str) -> None:
    seen: set[str] = set()
    for i, code in enumerate(codes):
        if code in seen:
            raise ConfigError(f"{field}[{i}].code", f"duplicates code {code!r}")
        seen.add(code)


def _policy(raw: Any) -> Policy:
    m = _mapping(raw, "policy")
    _unknown_keys(m, {"id", "rules", "scorecard", "cutoffs", "grades", "customer_rules"}, "policy")
    rules_raw = m.get("rules", [])
    if not isinstance(rules_raw, list):
        raise ConfigError("policy.rules", "must be a list")
    rules = tuple(_rule(r, f"policy.rules[{i}]") for i, r in enumerate(rules_raw))
    _unique_codes([r.code for r in rules], "policy.rules")

    card = _mapping(_get(m, "scorecard", "policy"), "policy.scorecard")
    points: PointsScorecard | None = None
    factors: tuple[Factor, ...] = ()
    if card.get("kind") == "points":  # fitted by `riskmon model fit-scorecard` (riskmon.scorecard_points)
        try:
            points = parse_points_scorecard(card, lambda v, f: _code(v, f"policy.{f}"))
        except PointsError as exc:
            raise ConfigError(f"policy.{exc.field}", str(exc).split(": ", 1)[1]) from exc
        for i, ch in enumerate(points.characteristics):
            _field_ref(ch.field, f"policy.scorecard.characteristics[{i}].field")
    else:
        _unknown_keys(card, {"kind", "intercept", "factors"}, "policy.scorecard")
        if card.get("kind", "linear") != "linear":
            raise ConfigError("policy.scorecard.kind", f"must be `linear` or `points`, got {card.get('kind')!r}")
        factors_raw = _get(card, "factors", "policy.scorecard")
        if not isinstance(factors_raw, list) or not factors_raw:
            raise ConfigError("policy.scorecard.factors", "must be a non-empty list")
        factors = tuple(_factor(f, f"policy.scorecard.factors[{i}]") for i, f in enumerate(factors_raw))
        _unique_codes([f.code for f in factors], "policy.scorecard.factors")

    cut = _mapping(_get(m, "cutoffs", "policy"), "policy.cutoffs")
    _unknown_keys(cut, {"approve_below", "reject_at_or_above"}, "policy.cutoffs")
    approve_below = _probability(_get(cut, "approve_below", "policy.cutoffs"), "policy.cutoffs.approve_below")
    reject_at = _probability(_get(cut, "reject_at_or_above", "policy.cutoffs"), "policy.cutoffs.reject_at_or_above")
    if not approve_below <= reject_at:
        raise ConfigError(
            "policy.cutoffs.reject_at_or_above",
            f"must be >= approve_below ({approve_below}), got {reject_at}",
        )

    grades = _mapping(_get(m, "grades", "policy"), "policy.grades")
    _unknown_keys(grades, set(GRADE_NAMES), "policy.grades")
    bounds = [_probability(_get(grades, g, "policy.grades"), f"policy.grades.{g}") for g in GRADE_NAMES]
    for prev, (name, bound) in zip(bounds, list(zip(GRADE_NAMES, bounds, strict=False))[1:], strict=False):
        if bound <= prev:
            raise ConfigError(
                f"policy.grades.{name}", f"must be above the previous grade's bound ({prev}), got {bound}"
            )

    return Policy(
        id=_code_like_id(_get(m, "id", "policy")),
        rules=rules,
        intercept=_number(card.get("intercept", 0.0), "policy.scorecard.intercept"),
        factors=factors,
        approve_below=approve_below,
        reject_at_or_above=reject_at,
        grade_bounds=(bounds[0], bounds[1], bounds[2], bounds[3]),
        customer=_customer_rules(m.get("customer_rules")),
        points=points,
    )


def _optional_block(m: Mapping[str, Any], key: str, allowed: set[str], field: str) -> Mapping[str, Any] | None:
    """``m[key]`` as a mapping with only ``allowed`` keys, or None when absent or null (the rule is off)."""
    raw = m.get(key)
    if raw is None:
        return None
    block = _mapping(raw, f"{field}.{key}")
    _unknown_keys(block, allowed, f"{field}.{key}")
    return block


def _positive(value: Any, field: str) -> float:
    number = _number(value, field)
    if number <= 0:
        raise ConfigError(field, f"must be > 0, got {value!r}")
    return number


def _days(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(field, f"must be a whole number of days >= 1, got {value!r}")
    return value


def _rule_outcome(value: Any, field: str) -> Literal["review", "reject"]:
    if value == "review":
        return "review"
    if value == "reject":
        return "reject"
    raise ConfigError(field, f"must be review or reject, got {value!r}")


def _customer_rules(raw: Any) -> CustomerRules:
    """``policy.customer_rules``: absent or null turns every customer rule off."""
    field = "policy.customer_rules"
    if raw is None:
        return CustomerRules()
    m = _mapping(raw, field)
    _unknown_keys(m, {"alert", "delinquency", "exposure", "max_profile_delay_seconds", "hold_window_hours"}, field)
    alert = _optional_block(m, "alert", {"level", "outcome"}, field)
    alert_level = None
    alert_outcome: Literal["review", "reject"] = "review"
    if alert is not None:
        alert_level = _get(alert, "level", f"{field}.alert")
        if alert_level not in ("info", "warning", "critical"):
            raise ConfigError(f"{field}.alert.level", f"must be info, warning or critical, got {alert_level!r}")
        alert_outcome = _rule_outcome(alert.get("outcome", "review"), f"{field}.alert.outcome")
    delinquency = _optional_block(m, "delinquency", {"review_days", "reject_days"}, field) or {}
    review_days = _days(delinquency.get("review_days"), f"{field}.delinquency.review_days")
    reject_days = _days(delinquency.get("reject_days"), f"{field}.delinquency.reject_days")
    if review_days is not None and reject_days is not None and reject_days < review_days:
        raise ConfigError(
            f"{field}.delinquency.reject_days", f"must be >= review_days ({review_days}), got {reject_days}"
        )
    exposure = _optional_block(m, "exposure", {"limit", "income_multiple", "outcome"}, field)
    limit = multiple = None
    exposure_outcome: Literal["review", "reject"] = "review"
    if exposure is not None:
        if exposure.get("limit") is not None:
            limit = _positive(exposure["limit"], f"{field}.exposure.limit")
        if exposure.get("income_multiple") is not None:
            multiple = _positive(exposure["income_multiple"], f"{field}.exposure.income_multiple")
        if limit is None and multiple is None:
            raise ConfigError(f"{field}.exposure", "needs limit, income_multiple or both (or null to turn it off)")
        exposure_outcome = _rule_outcome(exposure.get("outcome", "review"), f"{field}.exposure.outcome")
    delay = m.get("max_profile_delay_seconds")
    hold = m.get("hold_window_hours", 0)
    hold_hours = 0.0 if hold is None else _number(hold, f"{field}.hold_window_hours")
    if hold_hours < 0:
        raise ConfigError(f"{field}.hold_window_hours", f"must be >= 0 (0 turns holds off), got {hold!r}")
    return CustomerRules(
        alert_level=alert_level,
        alert_outcome=alert_outcome,
        delinquency_review_days=review_days,
        delinquency_reject_days=reject_days,
        exposure_limit=limit,
        exposure_income_multiple=multiple,
        exposure_outcome=exposure_outcome,
        max_profile_delay_seconds=None if delay is None else _positive(delay, f"{field}.max_profile_delay_seconds"),
        hold_window_hours=hold_hours,
    )


def _code_like_id(value: Any) -> str:
    return _code_like(value, "policy.id")


def _int(value: Any, field: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(field, f"must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(field, f"must be >= {minimum}, got {value}")
    return value


def _learner(raw: Any, field: str) -> LearnerSpec:
    m = _mapping(raw, field)
    _unknown_keys(m, {"name", "params"}, field)
    name = _code_like(_get(m, "name", field), f"{field}.name")
    params = dict(_mapping(m.get("params", {}), f"{field}.params"))
    from riskmon.models.families import make_model  # imported here: River is heavy and only this needs it

    try:
        make_model(name, params)
    except TypeError as exc:
        raise ConfigError(f"{field}.params", f"unknown parameter ({exc})") from None
    except ValueError as exc:
        raise ConfigError(f"{field}.params", str(exc)) from None
    return LearnerSpec(name=name, params=params)


def _models(raw: Any) -> ModelsConfig:
    m = _mapping(raw, "models")
    _unknown_keys(
        m,
        {
            "min_labels_to_decide",
            "bad_days_past_due",
            "champion",
            "challenger",
            "publish_every_labels",
            "publish_every_seconds",
            "promotion",
            "cutoffs",
        },
        "models",
    )
    promo = _mapping(m.get("promotion", {}), "models.promotion")
    _unknown_keys(promo, {"automatic", "min_labels", "min_auc_gain", "max_logloss_increase"}, "models.promotion")
    automatic = promo.get("automatic", False)
    if not isinstance(automatic, bool):
        raise ConfigError("models.promotion.automatic", f"must be true or false, got {automatic!r}")
    champion = _learner(_get(m, "champion", "models"), "models.champion")
    challenger = _learner(_get(m, "challenger", "models"), "models.challenger")
    if champion.name == challenger.name:
        raise ConfigError("models.challenger.name", f"must differ from the champion's name ({champion.name!r})")
    cut = _mapping(_get(m, "cutoffs", "models"), "models.cutoffs")
    _unknown_keys(cut, {"approve_below", "reject_at_or_above"}, "models.cutoffs")
    approve_below = _probability(_get(cut, "approve_below", "models.cutoffs"), "models.cutoffs.approve_below")
    reject_at = _probability(_get(cut, "reject_at_or_above", "models.cutoffs"), "models.cutoffs.reject_at_or_above")
    if not approve_below <= reject_at:
        raise ConfigError(
            "models.cutoffs.reject_at_or_above", f"must be >= approve_below ({approve_below}), got {reject_at}"
        )
    every_seconds = _number(m.get("publish_every_seconds", 10), "models.publish_every_seconds")
    if every_seconds <= 0:
        raise ConfigError("models.publish_every_seconds", f"must be > 0, got {every_seconds}")
    return ModelsConfig(
        min_labels_to_decide=_int(m.get("min_labels_to_decide", 500), "models.min_labels_to_decide"),
        bad_days_past_due=_int(m.get("bad_days_past_due", 90), "models.bad_days_past_due", minimum=1),
        champion=champion,
        challenger=challenger,
        publish_every_labels=_int(m.get("publish_every_labels", 200), "models.publish_every_labels", minimum=1),
        publish_every_seconds=every_seconds,
        promotion=PromotionRule(
            automatic=automatic,
            min_labels=_int(promo.get("min_labels", 1000), "models.promotion.min_labels"),
            min_auc_gain=_number(promo.get("min_auc_gain", 0.01), "models.promotion.min_auc_gain"),
            max_logloss_increase=_number(
                promo.get("max_logloss_increase", 0.0), "models.promotion.max_logloss_increase"
            ),
        ),
        approve_below=approve_below,
        reject_at_or_above=reject_at,
    )


def _code_like(value: Any, field: str) -> str:
    text = _text(value, field, max_len=64)
    if not all(c.isalnum() or c in "._:-" for c in text):
        raise ConfigError(field, f"may only use letters, digits and . _ : -, got {text!r}")
    return text


def parse_config(raw: Any, *, source: str = "<memory>") -> RiskConfig:
    """Validate a parsed configuration document and compute its version.

    >>> cfg = parse_config(yaml.safe_load(default_config_text()))
    >>> cfg.policy.id, len(cfg.version)
    ('rules-v1', 64)
    >>> parse_config({"currency": "usd", "policy": {}, "models": {}, "detectors": {}})
    Traceback (most recent call last):
    ...
    riskmon.config.ConfigError: currency: must be an ISO 4217 code such as USD, got 'usd'
    """
    m = _mapping(raw, "")
    _unknown_keys(m, {"currency", "policy", "models", "detectors", "alerting"}, "")
    currency = m.get("currency", "USD")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha() and currency.isupper()):
        raise ConfigError("currency", f"must be an ISO 4217 code such as USD, got {currency!r}")
    policy = _policy(_get(m, "policy", ""))
    models = _models(_get(m, "models", ""))
    from riskmon.detectors.config import DetectorSettingError, parse_detectors

    try:
        detectors = parse_detectors(_get(m, "detectors", ""))
    except DetectorSettingError as exc:
        raise ConfigError(exc.field, exc.message) from None
    from riskmon.alerting.config import AlertingConfigError, parse_alerting

    try:
        alerting = parse_alerting(m.get("alerting"))
    except AlertingConfigError as exc:
        raise ConfigError(exc.field, exc.message) from None
    canonical = orjson.dumps(m, option=orjson.OPT_SORT_KEYS)
    return RiskConfig(
        alerting=alerting,
        currency=currency,
        policy=policy,
        models=models,
        detectors=detectors,
        version=hashlib.sha256(canonical).hexdigest(),
        source=source,
    )


def default_config_text() -> str:
    """The configuration shipped in the package."""
    return resources.files("riskmon").joinpath("default_config.yaml").read_text(encoding="utf-8")


def load_config(path: str | Path | None = None) -> RiskConfig:
    """Load and validate ``path``, or the packaged defaults when it is None."""
    if path is None or str(path) == "":
        return parse_config(yaml.safe_load(default_config_text()), source="<package default>")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", f"cannot read configuration file {p}: {exc.strerror}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("", f"{p} is not valid YAML: {exc}") from exc
    return parse_config(_with_scorecard_file(raw, p.parent), source=str(p))


def _with_scorecard_file(raw: Any, base: Path) -> Any:
    """``policy.scorecard: {file: PATH}`` replaced by that file's scorecard (relative to the configuration's folder).

    ``riskmon model fit-scorecard --out`` writes such a file; the version is
    then the hash of the whole configuration with the scorecard in it.
    """
    policy = raw.get("policy") if isinstance(raw, dict) else None
    if not isinstance(policy, dict):
        return raw
    card = policy.get("scorecard")
    if not (isinstance(card, dict) and set(card) == {"file"}):
        return raw
    path = base / str(card["file"])
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError("policy.scorecard.file", f"cannot read the scorecard {path}: {exc}") from exc
    return {**raw, "policy": {**policy, "scorecard": loaded}}
