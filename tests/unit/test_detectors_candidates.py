"""Alert candidates: the risk.alerts shape, stable dedup keys and ids, no personal data."""

from __future__ import annotations

import json

import pytest

from riskmon.detectors import ThresholdDetector, alert_candidate, alert_id, build_alert, dedup_key
from riskmon.schemas import Alert, AlertSubject, Application, dumps

LEVELS = {"warning": {"enter": 0.25, "exit": 0.10}, "critical": {"enter": 0.50, "exit": 0.40}}
T = 1795963106.0  # 2026-11-29T14:38:26Z
CUSTOMER = AlertSubject("customer", "cust-42")
CONTRACT_FIELDS = [
    "alert_id",
    "dedup_key",
    "level",
    "status",
    "detector",
    "subject",
    "summary",
    "value",
    "threshold",
    "window",
    "started_at",
    "updated_at",
    "count",
    "labels",
    "runbook_url",
]


def alerts(values, *, start=T, subject=CUSTOMER, version="cfg-1"):
    det = ThresholdDetector(LEVELS)
    out = []
    for i, v in enumerate(values):
        tr = det.update(v, at=start + 60 * i)
        if tr:
            out.append(
                alert_candidate(tr, detector="reject_rate", subject=subject, config_version=version, window="1h")
            )
    return out


def test_shape_of_an_episode() -> None:
    fired, escalated, resolved = alerts([0.3, 0.6, 0.05])
    assert list(fired.to_dict()) == CONTRACT_FIELDS
    assert [(a.status, a.level, a.count) for a in (fired, escalated, resolved)] == [
        ("firing", "warning", 1),
        ("firing", "critical", 2),
        ("resolved", "critical", 3),  # the level resolved
    ]
    assert {a.dedup_key for a in (fired, escalated, resolved)} == {"reject_rate:customer:cust-42"}
    assert len({a.alert_id for a in (fired, escalated, resolved)}) == 3
    assert all(a.started_at == fired.started_at for a in (escalated, resolved))
    d = resolved.to_dict()
    assert (d["started_at"], d["updated_at"], d["value"], d["threshold"], d["window"]) == (
        "2026-11-29T14:38:26.000Z",
        "2026-11-29T14:40:26.000Z",
        0.05,
        0.1,
        "1h",
    )
    assert d["summary"] == "reject_rate on customer cust-42: resolved: 0.05 < exit 0.1"
    assert d["labels"] == {"config_version": "cfg-1"} and d["runbook_url"] is None
    assert Alert.from_dict(json.loads(dumps(d))) == resolved  # survives the wire


def test_reprocessing_gives_identical_alerts() -> None:
    values = [0.3, 0.2, 0.6, 0.45, 0.3, 0.05, 0.3]
    first = [dumps(a.to_dict()) for a in alerts(values)]
    again = [dumps(a.to_dict()) for a in alerts(values)]
    assert first == again and len(first) == 5


ID_CASES = [
    # (what changes between two alerts, same alert_id?)
    ("a new episode (later start)", dict(started_at=T + 3600), False),
    ("another level", dict(level="critical"), False),
    ("resolved instead of firing", dict(status="resolved"), False),
    ("a later update of the same episode and level", dict(updated_at=T + 600, count=4, value=0.9), True),
    ("another configuration version", dict(config_version="cfg-2"), True),  # same alert, new labels
    ("another subject", dict(subject=AlertSubject("customer", "cust-43")), False),
]


@pytest.mark.parametrize("what,change,same", ID_CASES, ids=[c[0] for c in ID_CASES])
def test_alert_id_is_deterministic(what, change, same) -> None:
    base = dict(
        detector="reject_rate",
        subject=CUSTOMER,
        level="warning",
        status="firing",
        summary="s",
        started_at=T,
        updated_at=T,
        config_version="cfg-1",
    )
    a, b = build_alert(**base), build_alert(**{**base, **change})
    assert (a.alert_id == b.alert_id) is same
    assert a.alert_id == alert_id("reject_rate:customer:cust-42", T, "warning", "firing")


def test_dedup_keys_are_stable_and_readable() -> None:
    assert dedup_key("psi_score", AlertSubject("model", "pd-v3")) == "psi_score:model:pd-v3"
    assert dedup_key("lag", {"kind": "pipeline", "id": "credit.transactions"}) == "lag:pipeline:credit.transactions"
    assert alerts([0.3], start=T)[0].dedup_key == alerts([0.3], start=T + 10**6)[0].dedup_key


def test_no_personal_data_reaches_the_alert() -> None:
    app = Application.from_dict(
        {
            "application_id": "app-9",
            "customer_id": "cust-9",
            "submitted_at": "2026-11-29T14:00:00Z",
            "amount": 5000,
            "term_months": 36,
            "annual_income": 40000,
            "applicant": {
                "name": "Ada Lovelace",
                "email": "ada@example.org",
                "national_id": "AB123456C",
                "phone": "+4420",
            },
        }
    )
    (a,) = alerts([0.7], subject=AlertSubject("customer", app.customer_id))
    wire = dumps(a.to_dict()).decode()
    for secret in app.applicant.values():
        assert secret not in wire
    for key in ("applicant", "name", "email", "national_id", "phone"):
        assert f'"{key}"' not in wire


REFUSED = [
    # (build_alert overrides, what is refused)
    (dict(subject=AlertSubject("customer", "ada@example.org")), "subject.id"),  # an e-mail is not an identifier
    (dict(subject=AlertSubject("customer", "Ada Lovelace")), "subject.id"),  # nor is a name
    (dict(labels={"email": "ada@example.org"}), "personal data"),  # labels naming personal data
    (dict(labels={"Applicant": "x"}), "personal data"),  # whatever the case
    (dict(detector="reject rate"), "detector"),  # detector names are identifiers
    (dict(detector="a:b"), "detector"),  # without ':' so the dedup key splits unambiguously
    (dict(config_version=""), "config_version"),
    (dict(labels={"team": 7}), "labels must map strings to strings"),
]


@pytest.mark.parametrize("override,fragment", REFUSED)
def test_refused(override, fragment) -> None:
    base = dict(
        detector="reject_rate",
        subject=CUSTOMER,
        level="warning",
        status="firing",
        summary="s",
        started_at=T,
        updated_at=T,
        config_version="cfg-1",
    )
    with pytest.raises(ValueError, match=fragment):
        build_alert(**{**base, **override})


def test_caller_labels_and_summary() -> None:
    det = ThresholdDetector(LEVELS)
    tr = det.update(0.7, at=T)
    a = alert_candidate(
        tr,
        detector="psi_score",
        subject={"kind": "model", "id": "pd-v3"},
        config_version="cfg-9",
        labels={"segment": "sme", "config_version": "spoofed"},
        summary="score drift",
        runbook_url="https://runbooks/psi",
    )
    assert a.labels == {"segment": "sme", "config_version": "cfg-9"}  # the config_version argument wins over a label
    assert (a.summary, a.runbook_url, a.subject.kind) == ("score drift", "https://runbooks/psi", "model")
