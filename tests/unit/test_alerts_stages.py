"""The alerting stages, table-driven, with an injected clock (no broker, no Redis)."""

from __future__ import annotations

import pytest

from riskmon.alerting.config import AlertingConfigError, GradingSpec, parse_alerting
from riskmon.alerting.grading import graded_level
from riskmon.alerting.manager import Acknowledge, AddSilence, AlertManager, ExpireSilence
from riskmon.alerting.silences import Silence, parse_matcher
from riskmon.detectors import build_alert

T0 = 1_795_963_106.0  # 2026-11-29T14:38:26Z

CONFIG = {
    "group_by": ["dedup_key"],
    "group_interval": "5m",
    "repeat_interval": "1h",
    "routes": [
        {"match": {"level": ["critical"]}, "receivers": ["pager"], "continue": True},
        {"match": {"level": ["warning", "critical"]}, "receivers": ["hook"]},
    ],
    "receivers": {
        "pager": {"type": "pagerduty", "url": "http://127.0.0.1:9/v2/enqueue"},
        "hook": {"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret_env": "HOOK_SECRET"},
    },
}


def alert(
    customer="c-1", at=T0, *, level="warning", status="firing", detector="txn_velocity", started=None, kind="customer"
):
    return build_alert(
        detector=detector,
        subject={"kind": kind, "id": customer},
        level=level,
        status=status,
        summary=f"{detector} on {customer}",
        started_at=started if started is not None else at,
        updated_at=at,
        config_version="cfg",
    )


def manager(**overrides):
    return AlertManager(parse_alerting({**CONFIG, **overrides}))


def run(m, inputs, now, **kw):
    out = m.process(inputs, now, **kw)
    m.commit(out)
    return out


def reasons(out):
    return [r.value for _, r, _ in out.decisions]


# -- dedup: (what came before, the candidate, expected reason) ------------------------------------
DEDUP_CASES = [
    # a first firing notifies
    ([], alert(), "first_notification"),
    # the very same candidate redelivered is dropped
    ([alert()], alert(), "duplicate"),
    # a later candidate for the open key, within the repeat interval, only updates count
    ([alert()], alert(at=T0 + 60, started=T0), "duplicate"),
    # ... and after the repeat interval (1h) notifies again
    ([alert()], alert(at=T0 + 3601, started=T0), "repeat_interval_elapsed"),
    # a level change notifies at once
    ([alert()], alert(at=T0 + 60, level="critical", started=T0), "level_changed"),
    # the detector clears: resolved, notified
    ([alert()], alert(at=T0 + 60, status="resolved", started=T0), "resolved"),
    # resolving what is not open is dropped
    ([], alert(status="resolved"), "duplicate"),
    # a new episode after a resolution notifies again
    ([alert(), alert(at=T0 + 60, status="resolved", started=T0)], alert(at=T0 + 120), "first_notification"),
]


@pytest.mark.parametrize("before, candidate, expected", DEDUP_CASES)
def test_dedup_reasons(before, candidate, expected):
    m = manager()
    for a in before:
        run(m, [a], now=a.updated_at.timestamp())
    out = run(m, [candidate], now=candidate.updated_at.timestamp())
    assert reasons(out) == [expected]
    assert bool(out.published) == (expected != "duplicate")


def test_repeats_update_count_and_updated_at_of_the_one_open_alert():
    m = manager()
    run(m, [alert()], T0)
    for i in range(1, 5):
        run(m, [alert(at=T0 + 60 * i, started=T0)], T0 + 60 * i)
    state = m.states["txn_velocity:customer:c-1"]
    assert state.alert.count == 5 and state.alert.updated_at.timestamp() == T0 + 240
    assert state.alert.started_at.timestamp() == T0
    out = run(m, [alert(at=T0 + 3700, started=T0)], T0 + 3700)
    assert reasons(out) == ["repeat_interval_elapsed"] and out.published[0].count == 6


def test_published_ids_are_deterministic_for_the_same_stream():
    stream = [alert(), alert(at=T0 + 3601, started=T0), alert(at=T0 + 3700, status="resolved", started=T0)]
    ids = []
    for _ in range(2):
        m = manager()
        ids.append([p.alert_id for a in stream for p in run(m, [a], a.updated_at.timestamp()).published])
    assert ids[0] == ids[1] and len(set(ids[0])) == 3


# -- grading -----------------------------------------------------------------------------------
GRADING_CASES = [
    # (detector level, exposure, portfolio exposure, expected level)
    ("warning", None, None, "warning"),  # unknown weight: the detector's level
    ("warning", 300_000, None, "critical"),  # large exposure: one level up
    ("info", 300_000, None, "warning"),
    ("critical", 300_000, None, "critical"),  # never above critical
    ("warning", 10_000, 100_000, "critical"),  # 10% of the book
    ("warning", 1_000, 100_000_000, "warning"),  # small and a tiny share
]


@pytest.mark.parametrize("level, exposure, book, expected", GRADING_CASES)
def test_grading(level, exposure, book, expected):
    assert graded_level(level, exposure, book, GradingSpec(250_000, 0.05))[0] == expected


def test_graded_alert_carries_its_original_level():
    m = manager()
    out = run(m, [alert()], T0, exposures={"c-1": 400_000.0})
    assert out.published[0].level == "critical" and out.published[0].labels["graded_from"] == "warning"
    assert set(out.notifications[0].receivers) == {"pager", "hook"}


# -- inhibition and silences ---------------------------------------------------------------------
def test_critical_inhibits_warnings_on_the_same_subject_only():
    m = manager()
    run(m, [alert(detector="cash_24h", level="critical")], T0)
    same = run(m, [alert(detector="txn_velocity", at=T0 + 1)], T0 + 1)
    other = run(m, [alert(customer="c-2", detector="txn_velocity", at=T0 + 2)], T0 + 2)
    assert reasons(same) == ["inhibited"] and same.published[0].suppressed_by == "inhibited:cash_24h:customer:c-1"
    assert same.notifications == []
    assert reasons(other) == ["first_notification"]
    again = run(m, [alert(detector="txn_velocity", at=T0 + 3, started=T0 + 1)], T0 + 3)
    assert reasons(again) == ["duplicate"]  # still inhibited: not published again


def test_inhibited_alert_notifies_once_the_critical_resolves():
    m = manager()
    run(m, [alert(detector="cash_24h", level="critical")], T0)
    run(m, [alert(detector="txn_velocity", at=T0 + 1)], T0 + 1)
    run(m, [alert(detector="cash_24h", level="critical", status="resolved", at=T0 + 2, started=T0)], T0 + 2)
    out = run(m, [alert(detector="txn_velocity", at=T0 + 3, started=T0 + 1)], T0 + 3)
    assert reasons(out) == ["first_notification"] and out.notifications[0].action == "trigger"


SILENCE_CASES = [
    # (matcher, silence window relative to T0, candidate, expected reason)
    ("detector=txn_velocity", (0, 3600), alert(at=T0 + 10), "silenced"),
    ("detector=txn_velocity", (0, 3600), alert(at=T0 + 4000), "first_notification"),  # expired by then
    ("detector=cash_24h", (0, 3600), alert(at=T0 + 10), "first_notification"),  # other detector
    ("subject_id=c-1,level=warning|info", (0, 3600), alert(at=T0 + 10), "silenced"),
    ("level=critical", (0, 3600), alert(at=T0 + 10), "first_notification"),
]


@pytest.mark.parametrize("matcher, window, candidate, expected", SILENCE_CASES)
def test_silences(matcher, window, candidate, expected):
    m = manager()
    s = Silence.create(
        matcher=parse_matcher(matcher),
        starts_at=T0 + window[0],
        ends_at=T0 + window[1],
        author="ops-anna",
        comment="merchant outage",
        created_at=T0,
    )
    run(m, [AddSilence(s)], T0)
    out = run(m, [candidate], candidate.updated_at.timestamp())
    assert reasons(out) == [expected]
    if expected == "silenced":
        assert out.published[0].suppressed_by == f"silence:{s.id}" and out.notifications == []


def test_expiring_a_silence_lets_the_next_repeat_notify():
    m = manager()
    s = Silence.create(
        matcher=parse_matcher("detector=txn_velocity"),
        starts_at=T0,
        ends_at=T0 + 86400,
        author="ops-anna",
        comment="test",
        created_at=T0,
    )
    run(m, [AddSilence(s), alert(at=T0 + 1)], T0 + 1)
    run(m, [ExpireSilence(s.id, by="ops-anna", at=T0 + 2)], T0 + 2)
    out = run(m, [alert(at=T0 + 3, started=T0 + 1)], T0 + 3)
    assert reasons(out) == ["first_notification"] and m.silences[s.id].ends_at == T0 + 2


def test_silence_needs_author_and_reason():
    with pytest.raises(ValueError, match="author and a reason"):
        Silence.create(matcher={"detector": ("x",)}, starts_at=0, ends_at=1, author="", comment="", created_at=0)


# -- grouping --------------------------------------------------------------------------------
def test_a_noisy_incident_pages_once_per_group_interval():
    m = manager(group_by=["detector"])
    pages = 0
    for i in range(50):  # 50 customers trip the same detector within 50 s
        pages += len(run(m, [alert(customer=f"c-{i}", at=T0 + i)], T0 + i).notifications)
    assert pages == 1
    flushed = m.tick(T0 + 301)
    m.commit(flushed)
    assert [n.reason for n in flushed.notifications] == ["new_alerts_in_group"]
    assert len(flushed.notifications[0].alerts) == 50
    # resolving all but one leaves the incident open; the last resolves it
    actions = []
    for i in range(50):
        out = run(m, [alert(customer=f"c-{i}", at=T0 + 400 + i, status="resolved", started=T0 + i)], T0 + 400 + i)
        actions += [n.action for n in out.notifications]
    assert actions == ["resolve"]


def test_grouping_by_dedup_key_pages_each_alert():
    m = manager()
    pages = sum(len(run(m, [alert(customer=f"c-{i}", at=T0 + i)], T0 + i).notifications) for i in range(5))
    assert pages == 5


# -- lifecycle: acknowledgement and resolution -----------------------------------------------------
def test_acknowledgement_is_recorded_and_sent_to_the_receivers_of_the_trigger():
    m = manager()
    run(m, [alert(level="critical")], T0)
    out = run(m, [Acknowledge("txn_velocity:customer:c-1", by="oncall-ben", at=T0 + 30)], T0 + 30)
    assert out.published[0].acknowledged_by == "oncall-ben"
    assert [(n.action, set(n.receivers)) for n in out.notifications] == [("acknowledge", {"pager", "hook"})]
    again = run(m, [Acknowledge("txn_velocity:customer:c-1", by="someone", at=T0 + 31)], T0 + 31)
    assert again.published == [] and reasons(again) == ["duplicate"]


def test_resolution_reaches_the_receivers_of_the_trigger_even_after_level_fell():
    m = manager()
    run(m, [alert(level="critical")], T0)
    run(m, [alert(level="warning", at=T0 + 10, started=T0)], T0 + 10)
    out = run(m, [alert(level="warning", status="resolved", at=T0 + 20, started=T0)], T0 + 20)
    assert [(n.action, set(n.receivers)) for n in out.notifications] == [("resolve", {"pager", "hook"})]


def test_point_detections_resolve_after_a_quiet_period():
    m = manager(resolve_after={"txn_anomaly": "30m"})
    run(m, [alert(detector="txn_anomaly")], T0)
    assert m.tick(T0 + 1700).published == []
    out = m.tick(T0 + 1801)
    assert [(a.status, a.detector) for a in out.published] == [("resolved", "txn_anomaly")]
    assert [n.action for n in out.notifications] == ["resolve"]


def test_uncommitted_outcome_changes_nothing():
    """A batch whose messages were not delivered is replayed, not half-applied."""
    m = manager()
    m.process([alert()], T0)  # not committed: as if the broker refused the sends
    out = run(m, [alert()], T0)
    assert reasons(out) == ["first_notification"]


def test_unrouted_notifications_have_no_receivers():
    m = manager()
    out = run(m, [alert(level="info")], T0)
    assert reasons(out) == ["first_notification"] and out.notifications[0].receivers == ()


# -- configuration rules -----------------------------------------------------------------------
CONFIG_ERRORS = [
    ({"group_by": []}, "alerting.group_by"),
    ({"group_by": ["name"]}, "alerting.group_by[0]"),
    ({"repeat_interval": "soon"}, "alerting.repeat_interval"),
    ({"routes": [{"receivers": ["ghost"]}]}, "alerting.routes[0].receivers[0]"),
    (
        {"routes": [{"match": {"level": ["severe"]}, "receivers": ["pager"]}], "receivers": CONFIG["receivers"]},
        "alerting.routes[0].match.level[0]",
    ),
    ({"receivers": {"h": {"type": "webhook", "url": "http://x"}}}, "alerting.receivers.h.secret_env"),
    ({"receivers": {"h": {"type": "sms", "url": "http://x"}}}, "alerting.receivers.h.type"),
    ({"inhibit": [{"source_level": "critical", "target_levels": ["critical"]}]}, "alerting.inhibit[0].target_levels"),
    ({"delivery": {"initial_backoff": "10s", "max_backoff": "1s"}}, "alerting.delivery.max_backoff"),
    ({"colour": "red"}, "alerting.colour"),
]


@pytest.mark.parametrize("raw, field", CONFIG_ERRORS)
def test_config_errors_name_the_field(raw, field):
    with pytest.raises(AlertingConfigError) as err:
        parse_alerting(raw)
    assert err.value.field == field


def test_no_personal_data_field_can_reach_an_alert():
    with pytest.raises(ValueError, match="personal data"):
        build_alert(
            detector="d",
            subject={"kind": "customer", "id": "c"},
            level="info",
            status="firing",
            summary="s",
            started_at=0,
            updated_at=0,
            config_version="v",
            labels={"email": "a@b.c"},
        )


def test_acknowledging_the_incident_from_the_pager_takes_every_member():
    m = manager(group_by=["detector"])
    run(m, [alert(customer="c-1", level="critical")], T0)
    run(m, [alert(customer="c-2", level="critical", at=T0 + 1)], T0 + 1)
    group = next(iter(m.groups))
    out = run(m, [Acknowledge(group, by="pagerduty:oncall-ben", at=T0 + 5)], T0 + 5)
    assert {a.acknowledged_by for a in out.published} == {"pagerduty:oncall-ben"} and len(out.published) == 2
    assert [n.action for n in out.notifications] == ["acknowledge"]


def test_the_first_critical_of_a_group_pages_at_once_later_ones_wait_for_the_group():
    m = manager(group_by=["detector"])
    run(m, [alert(customer="c-1")], T0)
    run(m, [alert(customer="c-2", at=T0 + 1)], T0 + 1)
    first = run(m, [alert(customer="c-1", level="critical", at=T0 + 2, started=T0)], T0 + 2)
    second = run(m, [alert(customer="c-2", level="critical", at=T0 + 3, started=T0 + 1)], T0 + 3)
    assert [n.level for n in first.notifications] == ["critical"]
    assert reasons(second) == ["grouped"] and second.notifications == []
    later = m.tick(T0 + 400)
    assert [(n.reason, n.level) for n in later.notifications] == [("new_alerts_in_group", "critical")]


def test_silences_follow_the_operators_clock_when_old_events_are_replayed():
    m = manager()
    s = Silence.create(
        matcher=parse_matcher("detector=txn_velocity"),
        starts_at=T0 + 86400,
        ends_at=T0 + 90000,
        author="ops-anna",
        comment="replaying yesterday",
        created_at=T0 + 86400,
    )
    run(m, [AddSilence(s)], T0)
    out = m.process([alert(at=T0)], now=T0, wall=T0 + 86500)  # yesterday's event, processed today
    assert reasons(out) == ["silenced"]


def test_resolved_alerts_are_forgotten_after_a_week_and_open_ones_kept():
    m = manager()
    run(m, [alert(customer="c-1"), alert(customer="c-2")], T0)
    run(m, [alert(customer="c-1", status="resolved", at=T0 + 60, started=T0)], T0 + 60)
    assert m.prune(T0 + 3 * 86400) == ([], [])
    states, groups = m.prune(T0 + 8 * 86400)
    assert states == ["txn_velocity:customer:c-1"] and groups == ["txn_velocity:customer:c-1"]
    assert set(m.states) == {"txn_velocity:customer:c-2"}


def test_a_replay_of_old_events_resolves_and_prunes_on_event_time_despite_wall_time_lag_alerts():
    """The manager's clock as the worker drives it: pipeline alerts carry processing time
    (today), so they must not pin the clock while old events replay, or quiet-period
    resolutions would be stamped today and no resolved alert would ever be pruned."""
    from riskmon.alerting.clock import EventClock, alert_event_time

    today = T0 + 90 * 86400
    clock = EventClock(wall=lambda: today)
    m = manager(resolve_after={"txn_anomaly": "30m"})

    def feed(alerts):
        for a in alerts:
            if (at := alert_event_time(a)) is not None:
                clock.observe(at)
        return run(m, alerts, clock.now())

    feed(
        [
            alert(detector="txn_anomaly", at=T0),
            alert(customer="credit.transactions", detector="ingestion_lag", kind="pipeline", at=today),
        ]
    )
    assert clock.now() == T0
    feed([alert(customer="c-2", detector="txn_velocity", at=T0 + 3600)])  # the replay moves on an hour
    resolved = m.tick(clock.now())
    m.commit(resolved)
    assert [(a.status, a.updated_at.timestamp()) for a in resolved.published] == [("resolved", T0 + 3600)]
    feed([alert(customer="c-3", detector="txn_velocity", at=T0 + 8 * 86400)])  # a week later in the replay
    stale, _ = m.prune(clock.now())
    assert stale == ["txn_anomaly:customer:c-1"]
