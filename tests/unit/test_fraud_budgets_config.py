"""txn_fraud's per-level budgets are a setting (detectors.transactions.fraud), validated like the others."""

from __future__ import annotations

import copy

import pytest
import yaml

from riskmon.config import ConfigError, default_config_text, load_config, parse_config
from riskmon.fraud.scoring import FraudScoring
from riskmon.schemas import Level

DEFAULT = yaml.safe_load(default_config_text())


def _fraud(value: object) -> dict:
    doc = copy.deepcopy(DEFAULT)
    if value is None:
        del doc["detectors"]["transactions"]["fraud"]
    else:
        doc["detectors"]["transactions"]["fraud"] = value
    return doc


def test_the_default_budgets_come_from_the_configuration_and_reach_the_fraud_step() -> None:
    budgets = load_config(None).detectors.fraud_budgets()
    assert budgets == {"info": 0.02, "warning": 0.005, "critical": 0.001}
    assert FraudScoring(budgets).levels == [(Level.INFO, 0.02), (Level.WARNING, 0.005), (Level.CRITICAL, 0.001)]


def test_changed_budgets_are_used_and_a_file_without_the_section_keeps_the_defaults() -> None:
    config = parse_config(_fraud({"levels": {"warning": {"budget": 0.01}, "critical": {"budget": 0.002}}}))
    assert config.detectors.fraud_budgets() == {"warning": 0.01, "critical": 0.002}
    assert parse_config(_fraud(None)).detectors.fraud_budgets()["critical"] == 0.001


@pytest.mark.parametrize(
    "value, field",
    [
        ({"levels": {"info": {"budget": 1.5}}}, "detectors.transactions.fraud.levels.info.budget"),
        (
            {"levels": {"info": {"budget": 0.01}, "critical": {"budget": 0.02}}},
            "detectors.transactions.fraud.levels.critical.budget",
        ),
        ({"levels": {"urgent": {"budget": 0.01}}}, "detectors.transactions.fraud.levels.urgent"),
        ({"levels": {"info": {"quantile": 0.98}}}, "detectors.transactions.fraud.levels.info"),
        ({"levels": {"info": {"budget": 0.02}}, "window": 5}, "detectors.transactions.fraud.window"),
        ({"levels": {}}, "detectors.transactions.fraud.levels"),
    ],
)
def test_bad_budgets_name_their_field(value: dict, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_fraud(value))
    assert info.value.field == field
