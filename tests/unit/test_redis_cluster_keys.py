"""Redis Cluster key design: every call riskmon makes in cluster mode stays within one hash slot,
the state of one application (or one customer) shares a slot, and different entities spread.

The pipelines are recorded by a fake pipeline that only notes the commands and their keys; the
real cluster behaviour (redis-py refusing cross-slot calls, the replies) is covered by the
integration tests marked ``redis_cluster``.
"""

from __future__ import annotations

from typing import Any

import pytest

from riskmon.keyspace import cluster_namespace, entity_key, key_slot, slots
from riskmon.pipeline import cluster_batches
from riskmon.pipeline.store import DecisionStore, key_namespace
from riskmon.profile import clock_key, risk_key
from riskmon.profile.fields import last_decision_key
from riskmon.redis_clients import async_client, is_cluster_url, server_url, sync_client

NS = key_namespace("staging.", "redis+cluster://127.0.0.1:7000")


class RecordingPipeline:
    """Notes each queued command as (name, keys)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.set_values: list[Any] = []  # what each SET writes, in order

    def _note(self, name: str, keys: list[str]) -> None:
        self.calls.append((name, keys))

    def get(self, key: str) -> None:
        self._note("GET", [key])

    def mget(self, keys: list[str]) -> None:
        self._note("MGET", list(keys))

    def set(self, key: str, value: Any, **options: Any) -> None:
        self._note("SET", [key])
        self.set_values.append(value)

    def hset(self, key: str, field: Any = None, value: Any = None, mapping: Any = None) -> None:
        self._note("HSET", [key])

    def hgetall(self, key: str) -> None:
        self._note("HGETALL", [key])

    def hmget(self, key: str, fields: list[str]) -> None:
        self._note("HMGET", [key])

    def expire(self, key: str, ttl: int) -> None:
        self._note("EXPIRE", [key])

    def execute_command(self, name: str, *args: Any) -> None:
        assert name == "EVAL"
        numkeys = args[1]
        self._note(name, list(args[2 : 2 + numkeys]))


def assert_single_slot(calls: list[tuple[str, list[str]]]) -> None:
    for name, keys in calls:
        assert keys and len(slots(keys)) == 1, f"{name} {keys} spans slots {slots(keys)}"


def test_the_cluster_namespace_is_tagged_and_a_single_server_keeps_its_key_names() -> None:
    assert NS == "{riskmon:staging}"
    assert key_namespace("staging.") == "riskmon:staging"
    # one server: exactly the names of before, so existing state is still read
    assert entity_key("riskmon", "decision", "app-1") == "riskmon:decision:app-1"
    assert risk_key("riskmon", "c-1") == "riskmon:risk:c-1"
    # cluster: the entity is the tag, the environment stays in the name
    assert entity_key(NS, "decision", "app-1") == "riskmon:staging:decision:{app-1}"
    assert risk_key(NS, "c-1") == "riskmon:staging:risk:{c-1}"


def test_one_applications_keys_share_a_slot_and_so_do_one_customers() -> None:
    for app in ("app-00001", "a:b:c", "x{y}z"):
        kinds = ("decision", "delivered", "features", "labelled", "manual", "deadlettered")
        assert len(slots(entity_key(NS, kind, app) for kind in kinds)) == 1, app
    for customer in ("cust-001", "c-77"):
        keys = [risk_key(NS, customer), last_decision_key(NS, customer), entity_key(NS, "watch:state", customer)]
        assert len(slots(keys)) == 1, customer


def test_entities_spread_over_slots_and_global_keys_share_the_namespace_slot() -> None:
    apps = {key_slot(entity_key(NS, "decision", f"app-{i:05d}")) for i in range(1000)}
    assert len(apps) > 900  # not one slot (nor one shard) for everything
    # three equal shards: each receives about a third
    shares = [sum(1 for s in apps if lo <= s < hi) for lo, hi in ((0, 5461), (5461, 10923), (10923, 16384))]
    assert min(shares) > 0.25 * len(apps), shares
    globals_ = [clock_key(NS), f"{NS}:exposure", f"{NS}:alerts:state", f"{NS}:auth:tokens", f"{NS}:model:evaluation"]
    assert slots(globals_) == {key_slot("riskmon:staging")}


def test_a_decision_key_is_computed_from_the_application_id_alone() -> None:
    # GET /v1/decisions/<id> knows nothing but the id: the same key every time, whatever the customer
    assert entity_key(NS, "decision", "app-9") == "riskmon:staging:decision:{app-9}"


def _batch(n: int) -> tuple[list[str], list[str]]:
    return [f"app-{i:05d}" for i in range(n)], [f"cust-{i % 7:03d}" for i in range(n)]


def test_a_batchs_lookup_reservation_and_confirmation_are_single_slot_commands_in_cluster_mode() -> None:
    apps, customers = _batch(50)
    unique = list(dict.fromkeys(customers))
    lookup_keys = [
        *(entity_key(NS, "decision", a) for a in apps),
        *(entity_key(NS, "delivered", a) for a in apps),
        *(last_decision_key(NS, c) for c in unique),
        *(risk_key(NS, c) for c in unique),
        f"{NS}:exposure",
        clock_key(NS),
    ]
    pipe = RecordingPipeline()
    cluster_batches.queue_lookup(pipe, lookup_keys, [len(apps), *unique])
    cluster_batches.queue_reserve(pipe, [entity_key(NS, "decision", a) for a in apps], [60, *(b"d" for _ in apps)])
    confirm_keys: list[str] = []
    confirm_args: list[Any] = [60, 3600.0, 1.0, b"[0,1]"]
    for a, c in zip(apps, customers, strict=True):
        confirm_keys += (
            entity_key(NS, "delivered", a),
            last_decision_key(NS, c),
            entity_key(NS, "features", a),
            risk_key(NS, c),
        )
        confirm_args += (b"{}", b"{}", b'{"at": 1}')
    confirm_keys.append(clock_key(NS))
    cluster_batches.queue_confirm(pipe, confirm_keys, confirm_args)
    assert_single_slot(pipe.calls)
    names = [name for name, _ in pipe.calls]
    # one command per application and per customer in each call, not one per key
    assert names.count("EVAL") == len(apps) + len(unique) + 2 * len(apps)
    assert names.count("SET") == len(apps)  # the reservations
    assert "MGET" not in names


def test_the_transaction_repayment_and_alert_writes_are_single_slot_commands_in_cluster_mode() -> None:
    customers = [f"cust-{i}" for i in range(20)]
    pipe = RecordingPipeline()
    keys: list[str] = []
    args: list[Any] = [60, 600, b"[0,1]"]
    for c in customers:
        keys += (entity_key(NS, "watch:state", c), risk_key(NS, c))
        args += (b"state", 3, "19.99")
    keys.append(clock_key(NS))
    snapshots = [f"{NS}:fraud:snapshot:tx-{i}" for i in range(5)]
    # the snapshots travel end to end in one argument, with their lengths in the next (SAVE_LUA's form)
    blob, lengths = b"s1s22s333s4444s55555", "2,3,4,5,6"
    cluster_batches.queue_save_transactions(pipe, keys + snapshots, [*args, blob, lengths, 5, 60])
    cluster_batches.queue_repayments(
        pipe, [risk_key(NS, c) for c in customers] + [clock_key(NS)], [60, b"[0,1]", *(["loan", 30, "current"] * 20)]
    )
    cluster_batches.queue_open_alerts(
        pipe,
        [risk_key(NS, c) for c in customers] + [clock_key(NS)],
        [60, b"[0,1]", *(["txn_velocity", "warning"] * 20)],
    )
    assert_single_slot(pipe.calls)
    sets = [keys for name, keys in pipe.calls if name == "SET"]
    assert [k[0] for k in sets] == snapshots  # every snapshot written, each with its own bytes
    assert pipe.set_values == [b"s1", b"s22", b"s333", b"s4444", b"s55555"]
    assert sum(name == "EVAL" for name, _ in pipe.calls) == 3 * len(customers)  # save, repayment, alert


def test_single_server_batches_keep_one_mget_and_cluster_batches_split_them() -> None:
    pipe = RecordingPipeline()
    cluster_batches.queue_mget(pipe, ["a", "b"], cluster=False)
    assert pipe.calls == [("MGET", ["a", "b"])]
    pipe = RecordingPipeline()
    cluster_batches.queue_mget(pipe, ["a", "b"], cluster=True)
    assert pipe.calls == [("GET", ["a"]), ("GET", ["b"])]


def test_the_lookup_reply_has_the_scripts_layout() -> None:
    # 2 applications, 1 customer: a script each (decision and mark; summary and risk hash), HMGET, HGETALL clock
    raw = [[b"d1", b"1"], [None, None], [b"sum", [b"approvals", b"[]"]], [b"12.5"], {b"decisions": b"[0.1,1]"}]
    keys = ["k"] * 8
    out = cluster_batches.lookup_reply(raw, keys, [2, "c"])
    assert out == [b"d1", None, b"1", None, b"sum", [b"approvals", b"[]"], [b"12.5"], [b"decisions", b"[0.1,1]"]]
    # no customers: no HMGET was queued
    assert cluster_batches.lookup_reply([[None, None], {}], ["k"] * 4, [1]) == [None, None, [], []]


def test_urls_choose_the_client() -> None:
    assert is_cluster_url("redis+cluster://127.0.0.1:7000") and is_cluster_url("rediss+cluster://h:1")
    assert not is_cluster_url("redis://127.0.0.1:6379/0")
    assert server_url("rediss+cluster://u:p@h:1") == "rediss://u:p@h:1"
    with pytest.raises(ValueError, match="only database 0"):
        server_url("redis+cluster://h:1/3")
    assert type(async_client("redis+cluster://127.0.0.1:1")).__name__ == "RedisCluster"
    assert type(async_client("redis://127.0.0.1:1/0")).__name__ == "Redis"
    assert type(sync_client("redis://127.0.0.1:1/0")).__name__ == "Redis"


def test_a_store_on_a_cluster_tags_its_namespace_itself() -> None:
    store = DecisionStore("redis+cluster://127.0.0.1:1", ttl_seconds=60, namespace="riskmon:x")
    assert store.cluster and store.namespace == cluster_namespace("riskmon:x")
    assert store.key("decision", "a") == "riskmon:x:decision:{a}"
    plain = DecisionStore("redis://127.0.0.1:1/0", ttl_seconds=60, namespace="riskmon:x")
    assert not plain.cluster and plain.key("decision", "a") == "riskmon:x:decision:a"
