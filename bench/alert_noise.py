"""How many notifications reach people for one noisy incident, with and without dedup and grouping.

    python -m bench.alert_noise [--customers 200] [--seed 11]

The incident: a card-testing attack through one compromised merchant. Over
ten minutes, ``--customers`` customers each make 8 to 30 small purchases and
some withdraw cash, on top of the demo's everyday traffic (the seeded
stream of :mod:`riskmon.demo.transactions`). The real detectors
(:class:`~riskmon.transactions.watch.CustomerWatch` velocity and cash-out,
:class:`~riskmon.transactions.watch.TransactionAnomalyWatch`) turn it into alert
candidates; the real alert manager then runs with three configurations:

* ``raw``: every candidate is a notification (what a pager subscribed to
  the detectors' output would get);
* ``dedup``: one open alert per dedup key, repeats folded, grouping off
  (``group_by: [dedup_key]``), inhibition and grading on;
* ``dedup+grouping``: the packaged defaults (``group_by: [detector]``,
  ``group_interval: 5m``).

Deterministic (seeded, event time drives the manager's clock). Prints the
counts and a last ``name: value`` line. Routing: warning and critical reach
the on-call pager; info stays on the feed.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from riskmon.alerting.config import Route, parse_alerting
from riskmon.alerting.manager import AlertManager
from riskmon.config import load_config
from riskmon.demo.transactions import generate_transactions
from riskmon.detectors.base import epoch
from riskmon.schemas import Transaction
from riskmon.transactions.watch import CustomerWatch, TransactionAnomalyWatch

END = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)


def attack(customers: list[str], *, start: datetime, rng: random.Random) -> list[dict]:
    out = []
    for c in customers:
        for j in range(rng.randint(8, 30)):
            at = start + timedelta(seconds=rng.uniform(0, 600))
            kind = "cash_withdrawal" if rng.random() < 0.08 else "purchase"
            amount = round(rng.uniform(300, 900), 2) if kind == "cash_withdrawal" else round(rng.uniform(1, 15), 2)
            out.append(
                {
                    "transaction_id": f"atk-{c}-{j}",
                    "customer_id": c,
                    "occurred_at": at.isoformat().replace("+00:00", "Z"),
                    "amount": amount,
                    "type": kind,
                    "merchant_category": "5999",
                    "channel": "web",
                    "country": "US",
                }
            )
    return sorted(out, key=lambda t: t["occurred_at"])


def candidates(n_customers: int, seed: int) -> list:
    config = load_config()
    rng = random.Random(seed)
    everyone = [f"cust-{i:05d}" for i in range(4000)]
    everyday = [
        t.transaction for t in generate_transactions(everyone, n=20_000, end=END - timedelta(minutes=15), seed=seed)
    ]
    victims = rng.sample(everyone[3:], n_customers)
    stream = sorted(everyday, key=lambda t: t["occurred_at"]) + attack(
        victims, start=END - timedelta(minutes=12), rng=rng
    )
    watches: dict[str, CustomerWatch] = {}
    fresh = CustomerWatch.factory(config.detectors)
    anomaly = TransactionAnomalyWatch(config.detectors)
    out = []
    for raw in stream:
        tx = Transaction.from_dict(raw)
        at = epoch(tx.occurred_at)
        watch = watches.get(tx.customer_id)
        if watch is None:
            watch = watches[tx.customer_id] = fresh()
        out += watch.observe(tx, at, config_version="bench")
        out += anomaly.observe(tx, at, config_version="bench")
    return [a for a in out if a.updated_at >= END - timedelta(minutes=12)]  # the incident's alerts


def run(cands: list, alerting: dict) -> tuple[int, int, int]:
    """(feed messages, notifications reaching the pager, open incidents at the end) for one configuration."""
    cfg = parse_alerting(alerting)
    cfg = replace(cfg, routes=(Route(receivers=("oncall",), match={"level": ("warning", "critical")}),))
    manager = AlertManager(cfg)
    published = pages = 0
    last_tick = None
    for a in cands:
        now = a.updated_at.timestamp()
        if last_tick is None or now - last_tick >= 60:
            out = manager.tick(now)
            manager.commit(out)
            published += len(out.published)
            pages += sum(1 for n in out.notifications if n.receivers)
            last_tick = now
        out = manager.process([a], now)
        manager.commit(out)
        published += len(out.published)
        pages += sum(1 for n in out.notifications if n.receivers)
    open_groups = sum(1 for g in manager.groups.values() if g.open)
    return published, pages, open_groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    cands = candidates(args.customers, args.seed)
    by_level: dict[str, int] = {}
    for a in cands:
        by_level[a.level] = by_level.get(a.level, 0) + 1
    raw_pages = sum(1 for a in cands if a.level in ("warning", "critical"))
    print(
        f"incident: card testing on {args.customers} customers over 10 minutes; "
        f"{len(cands)} detector candidates {by_level}"
    )
    print(f"{'configuration':<16} {'feed messages':>14} {'pages':>7} {'open incidents':>15}")
    print(f"{'raw':<16} {len(cands):>14} {raw_pages:>7} {'-':>15}")
    dedup = run(cands, {"group_by": ["dedup_key"]})
    print(f"{'dedup':<16} {dedup[0]:>14} {dedup[1]:>7} {dedup[2]:>15}")
    grouped = run(cands, {})
    print(f"{'dedup+grouping':<16} {grouped[0]:>14} {grouped[1]:>7} {grouped[2]:>15}")
    print(f"pages_raw_dedup_grouped: {raw_pages}/{dedup[1]}/{grouped[1]}")


if __name__ == "__main__":
    main()
