"""The ``alerting`` section of the configuration: grouping, timing, grading, inhibition, routes, receivers.

Defaults live here, in one place (:data:`DEFAULTS`); a configuration file
overrides what it names. Validation names the dotted field that is wrong,
including cross-field rules (a route naming a receiver that is not defined).

>>> cfg = parse_alerting({"routes": [{"match": {"level": ["critical"]}, "receivers": ["pager"]}],
...                       "receivers": {"pager": {"type": "pagerduty", "url": "http://127.0.0.1:9/v2/enqueue"}}})
>>> cfg.group_by, cfg.repeat_interval, cfg.routes[0].receivers
(('detector',), 14400.0, ('pager',))
>>> parse_alerting({"routes": [{"receivers": ["nobody"]}]})
Traceback (most recent call last):
...
riskmon.alerting.config.AlertingConfigError: alerting.routes[0].receivers[0]: names no receiver
  defined under alerting.receivers
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from riskmon.schemas.vocab import LEVELS, SUBJECT_KINDS

__all__ = [
    "AlertingConfig",
    "AlertingConfigError",
    "DeliverySpec",
    "GradingSpec",
    "InhibitRule",
    "ReceiverSpec",
    "Route",
    "parse_alerting",
    "parse_duration",
]

ReceiverType = Literal["pagerduty", "alertmanager", "webhook"]
RECEIVER_TYPES: tuple[str, ...] = ("pagerduty", "alertmanager", "webhook")
#: What ``group_by`` may name besides ``labels.<name>``.
GROUP_FIELDS = ("detector", "level", "subject_kind", "subject_id", "dedup_key")
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


class AlertingConfigError(ValueError):
    """A setting of ``alerting`` breaks a rule; ``field`` is its dotted path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_duration(value: Any, field: str) -> float:
    """Seconds from a number or a string such as ``"90s"``, ``"5m"``, ``"4h"``.

    >>> parse_duration("5m", "x"), parse_duration(30, "x"), parse_duration("250ms", "x")
    (300.0, 30.0, 0.25)
    """
    if isinstance(value, bool):
        raise AlertingConfigError(field, f"must be a duration such as 30s, 5m or 4h, got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise AlertingConfigError(field, f"must be a duration such as 30s, 5m or 4h, got {value!r}")
    if not seconds >= 0 or seconds == float("inf"):
        raise AlertingConfigError(field, "must be a finite duration >= 0")
    return seconds


@dataclass(frozen=True)
class GradingSpec:
    """A customer alert goes one level up when the customer weighs this much.

    ``exposure_at_least``: outstanding approved amount (currency units);
    ``share_at_least``: that amount's share of the whole portfolio's.
    Either suffices; ``None`` disables that test.
    """

    exposure_at_least: float | None = 250_000.0
    share_at_least: float | None = 0.05


@dataclass(frozen=True)
class InhibitRule:
    """While an alert at ``source_level`` fires, mute ``target_levels`` alerts sharing ``equal``."""

    source_level: str = "critical"
    target_levels: tuple[str, ...] = ("warning", "info")
    equal: tuple[str, ...] = ("subject",)


@dataclass(frozen=True)
class Route:
    """Send alerts matching ``match`` (all keys must match; values are alternatives) to ``receivers``.

    Routes are tried in order; the first match wins unless it says ``continue``.
    """

    receivers: tuple[str, ...]
    match: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    continue_: bool = False


@dataclass(frozen=True)
class ReceiverSpec:
    """One integration. Secrets never sit in the file: they are read from the named environment variables."""

    name: str
    type: str
    url: str
    timeout: float = 5.0
    routing_key_env: str | None = None
    secret_env: str | None = None


@dataclass(frozen=True)
class DeliverySpec:
    """Retry with exponential backoff (429, 5xx, timeouts) until ``give_up_after`` has passed."""

    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    give_up_after: float = 86_400.0


@dataclass(frozen=True)
class AlertingConfig:
    group_by: tuple[str, ...] = ("detector",)
    group_interval: float = 300.0
    repeat_interval: float = 14_400.0
    resolve_after: Mapping[str, float] = field(default_factory=lambda: {"txn_anomaly": 1800.0, "error_drift": 21_600.0})
    grading: GradingSpec = GradingSpec()
    inhibit: tuple[InhibitRule, ...] = (InhibitRule(),)
    routes: tuple[Route, ...] = ()
    receivers: Mapping[str, ReceiverSpec] = field(default_factory=dict)
    delivery: DeliverySpec = DeliverySpec()


DEFAULTS = AlertingConfig()


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise AlertingConfigError(field, f"must be a mapping, got {type(value).__name__}")
    return value


def _unknown(m: Mapping[str, Any], allowed: set[str], field: str) -> None:
    extra = sorted(set(m) - allowed)
    if extra:
        raise AlertingConfigError(f"{field}.{extra[0]}", "is not a known setting (check its spelling)")


def _list(value: Any, field: str) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise AlertingConfigError(field, "must be a list")
    return value


def _levels(value: Any, field: str) -> tuple[str, ...]:
    out = []
    for i, v in enumerate(_list(value, field)):
        if v not in LEVELS:
            raise AlertingConfigError(f"{field}[{i}]", f"must be one of {', '.join(LEVELS)}, got {v!r}")
        out.append(v)
    return tuple(out)


def _optional_number(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise AlertingConfigError(field, f"must be a number >= 0 or null, got {value!r}")
    return float(value)


def _group_by(value: Any, field: str) -> tuple[str, ...]:
    items = _list(value, field)
    if not items:
        raise AlertingConfigError(field, "must name at least one field (dedup_key: one group per alert)")
    for i, item in enumerate(items):
        ok = item in GROUP_FIELDS or (isinstance(item, str) and item.startswith("labels.") and len(item) > 7)
        if not ok:
            raise AlertingConfigError(
                f"{field}[{i}]", f"must be one of {', '.join(GROUP_FIELDS)} or labels.<name>, got {item!r}"
            )
    return tuple(items)


def _route(raw: Any, field: str, receivers: Mapping[str, Any]) -> Route:
    m = _mapping(raw, field)
    _unknown(m, {"match", "receivers", "continue"}, field)
    names = _list(m.get("receivers", []), f"{field}.receivers")
    if not names:
        raise AlertingConfigError(f"{field}.receivers", "must name at least one receiver")
    for i, name in enumerate(names):
        if name not in receivers:
            raise AlertingConfigError(f"{field}.receivers[{i}]", "names no receiver defined under alerting.receivers")
    match: dict[str, tuple[str, ...]] = {}
    for key, value in _mapping(m.get("match", {}), f"{field}.match").items():
        where = f"{field}.match.{key}"
        if key == "level":
            match[key] = _levels(value, where)
        elif key == "subject_kind":
            kinds = tuple(_list(value, where))
            for i, k in enumerate(kinds):
                if k not in SUBJECT_KINDS:
                    raise AlertingConfigError(f"{where}[{i}]", f"must be one of {', '.join(SUBJECT_KINDS)}, got {k!r}")
            match[key] = kinds
        elif key == "detector" or key.startswith("labels."):
            match[key] = tuple(str(v) for v in _list(value, where))
        else:
            raise AlertingConfigError(where, "can match level, detector, subject_kind or labels.<name>")
    cont = m.get("continue", False)
    if not isinstance(cont, bool):
        raise AlertingConfigError(f"{field}.continue", "must be true or false")
    return Route(receivers=tuple(names), match=match, continue_=cont)


def _receiver(name: str, raw: Any, field: str) -> ReceiverSpec:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise AlertingConfigError(field, "receiver names are 1 to 64 characters from [A-Za-z0-9._-]")
    m = _mapping(raw, field)
    _unknown(m, {"type", "url", "timeout", "routing_key_env", "secret_env"}, field)
    kind = m.get("type")
    if kind not in RECEIVER_TYPES:
        raise AlertingConfigError(f"{field}.type", f"must be one of {', '.join(RECEIVER_TYPES)}, got {kind!r}")
    url = m.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise AlertingConfigError(f"{field}.url", f"must be an http:// or https:// URL, got {url!r}")
    if kind == "webhook" and not m.get("secret_env"):
        raise AlertingConfigError(
            f"{field}.secret_env", "a webhook is signed: name the environment variable holding its HMAC secret"
        )
    timeout = parse_duration(m.get("timeout", 5.0), f"{field}.timeout")
    if timeout <= 0:
        raise AlertingConfigError(f"{field}.timeout", "must be above zero")
    return ReceiverSpec(
        name=name,
        type=kind,
        url=url,
        timeout=timeout,
        routing_key_env=m.get("routing_key_env"),
        secret_env=m.get("secret_env"),
    )


def parse_alerting(raw: Any, field: str = "alerting") -> AlertingConfig:
    """Validate the ``alerting`` mapping (``None`` or absent: the defaults)."""
    if raw is None:
        return DEFAULTS
    m = _mapping(raw, field)
    _unknown(
        m,
        {
            "group_by",
            "group_interval",
            "repeat_interval",
            "resolve_after",
            "grading",
            "inhibit",
            "routes",
            "receivers",
            "delivery",
        },
        field,
    )
    receivers = {
        name: _receiver(name, spec, f"{field}.receivers.{name}")
        for name, spec in _mapping(m.get("receivers", {}) or {}, f"{field}.receivers").items()
    }
    routes = tuple(
        _route(r, f"{field}.routes[{i}]", receivers)
        for i, r in enumerate(_list(m.get("routes", []) or [], f"{field}.routes"))
    )
    grading = DEFAULTS.grading
    if "grading" in m:
        g = _mapping(m["grading"], f"{field}.grading")
        _unknown(g, {"exposure_at_least", "share_at_least"}, f"{field}.grading")
        grading = GradingSpec(
            exposure_at_least=_optional_number(g.get("exposure_at_least"), f"{field}.grading.exposure_at_least"),
            share_at_least=_optional_number(g.get("share_at_least"), f"{field}.grading.share_at_least"),
        )
    inhibit = DEFAULTS.inhibit
    if "inhibit" in m:
        rules = []
        for i, r in enumerate(_list(m["inhibit"] or [], f"{field}.inhibit")):
            where = f"{field}.inhibit[{i}]"
            rm = _mapping(r, where)
            _unknown(rm, {"source_level", "target_levels", "equal"}, where)
            source = _levels(rm.get("source_level", "critical"), f"{where}.source_level")
            targets = _levels(rm.get("target_levels", ["warning", "info"]), f"{where}.target_levels")
            if len(source) != 1:
                raise AlertingConfigError(f"{where}.source_level", "must be one level")
            if source[0] in targets:
                raise AlertingConfigError(
                    f"{where}.target_levels", "must not include the source level (an alert would mute itself)"
                )
            equal = tuple(_list(rm.get("equal", ["subject"]), f"{where}.equal"))
            for j, e in enumerate(equal):
                if e not in ("subject", "detector", "subject_kind") and not str(e).startswith("labels."):
                    raise AlertingConfigError(
                        f"{where}.equal[{j}]", "must be subject, detector, subject_kind or labels.<name>"
                    )
            rules.append(InhibitRule(source_level=source[0], target_levels=targets, equal=equal))
        inhibit = tuple(rules)
    resolve_after = dict(DEFAULTS.resolve_after)
    if "resolve_after" in m:
        resolve_after = {
            str(k): parse_duration(v, f"{field}.resolve_after.{k}")
            for k, v in _mapping(m["resolve_after"] or {}, f"{field}.resolve_after").items()
        }
    delivery = DEFAULTS.delivery
    if "delivery" in m:
        d = _mapping(m["delivery"], f"{field}.delivery")
        _unknown(d, {"initial_backoff", "max_backoff", "give_up_after"}, f"{field}.delivery")
        delivery = DeliverySpec(
            initial_backoff=parse_duration(
                d.get("initial_backoff", DEFAULTS.delivery.initial_backoff), f"{field}.delivery.initial_backoff"
            ),
            max_backoff=parse_duration(
                d.get("max_backoff", DEFAULTS.delivery.max_backoff), f"{field}.delivery.max_backoff"
            ),
            give_up_after=parse_duration(
                d.get("give_up_after", DEFAULTS.delivery.give_up_after), f"{field}.delivery.give_up_after"
            ),
        )
        if delivery.max_backoff < delivery.initial_backoff:
            raise AlertingConfigError(f"{field}.delivery.max_backoff", "must be >= initial_backoff")
    return AlertingConfig(
        group_by=_group_by(m.get("group_by", list(DEFAULTS.group_by)), f"{field}.group_by"),
        group_interval=parse_duration(m.get("group_interval", DEFAULTS.group_interval), f"{field}.group_interval"),
        repeat_interval=parse_duration(m.get("repeat_interval", DEFAULTS.repeat_interval), f"{field}.repeat_interval"),
        resolve_after=resolve_after,
        grading=grading,
        inhibit=inhibit,
        routes=routes,
        receivers=receivers,
        delivery=delivery,
    )
