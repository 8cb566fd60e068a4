"""A fitted card with a declared ratio decides applications through a real worker as it was fitted.

What a user relies on: the ratio characteristic (``amount/features.price``)
the fit chose is read on the decision path the same way (the decision's PD is
the card's PD), it is named among the reasons when it cost the applicant
points, and an application whose ratio cannot be computed (price 0) is
decided as a missing value, not dead-lettered.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import orjson
import pytest
import yaml

from riskmon.config import parse_config
from riskmon.decisioning import decide
from riskmon.schemas import Application
from riskmon.scorecard_points import points_scorecard_to_dict
from riskmon.scorecards.data import History
from riskmon.scorecards.fit import FitOptions, fit_scorecard
from tests.config_edit import edited_default_config
from tests.integration.conftest import consume, produce, values

pytestmark = [pytest.mark.integration]

RATIO = "amount/features.price"


def _fitted_block() -> dict:
    """A card fitted on a history whose risk is the financed share amount / price."""
    rng = random.Random(21)
    amount, price, bad = [], [], []
    for _ in range(3000):
        p = math.exp(rng.uniform(8, 10))
        share = rng.uniform(0.2, 1.0)
        amount.append(round(share * p, 2))
        price.append(round(p, 2))
        bad.append(rng.random() < 1 / (1 + math.exp(-(-4.0 + 4.5 * share))))
    history = History(columns={"amount": amount, "features.price": price}, bad=bad)
    result = fit_scorecard(history, FitOptions(holdout=0.3, ratios=(RATIO,)))
    assert RATIO in {c.field for c in result.card.characteristics}
    return points_scorecard_to_dict(result.card, result.summary())


def _application(i: int, amount: float, price: float) -> dict:
    return {
        "application_id": f"app-{i:05d}",
        "customer_id": f"cust-{i:03d}",
        "submitted_at": "2026-11-29T14:38:26.123Z",
        "amount": amount,
        "term_months": 36,
        "annual_income": 60_000,
        "currency": "USD",
        "product": "personal_loan",
        "channel": "web",
        "features": {"price": price},
    }


def test_a_ratio_characteristic_decides_as_fitted(make_worker, services, tmp_path: Path) -> None:
    text = edited_default_config({"policy.scorecard": _fitted_block()})
    config = tmp_path / "riskmon.yaml"
    config.write_text(text)
    policy = parse_config(yaml.safe_load(text)).policy
    rng = random.Random(4)
    docs = []
    for i in range(60):
        price = round(rng.uniform(3_000, 20_000), 2)
        docs.append(_application(i, round(price * rng.uniform(0.2, 1.0), 2), price))
    docs.append(_application(60, 5_000.0, 0.0))  # no ratio: the missing bin's points
    worker = make_worker(RISKMON_CONFIG=str(config)).start()
    produce(
        services.kafka_bootstrap,
        worker.topic("credit.applications"),
        [(d["application_id"].encode(), orjson.dumps(d)) for d in docs],
    )
    got = {
        d["application_id"]: d
        for d in values(
            consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=len(docs), timeout=120)
        )
    }
    assert sorted(got) == sorted(d["application_id"] for d in docs)
    for doc in docs:
        decision = got[doc["application_id"]]
        assert decision["model_version"] == "scorecard-v1", "no labels yet: the fitted card decides"
        assert decision["score"] == pytest.approx(decide(Application.from_dict(doc), policy).score, abs=1e-6)
    risky = [
        got[d["application_id"]] for d in docs if d["features"]["price"] and d["amount"] / d["features"]["price"] > 0.9
    ]
    assert risky and all("RATIO_AMOUNT_TO_PRICE" in {r["code"] for r in d["reasons"]} for d in risky), (
        "a high financed share is named among the reasons"
    )
    assert not consume(services.kafka_bootstrap, worker.topic("risk.deadletter"), expect=0, timeout=3, settle=0.5)
    worker.assert_alive()
