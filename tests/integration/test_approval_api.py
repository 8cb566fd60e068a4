"""Approval services' two ways in: the Python client over Kafka, and HTTP on the worker."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import orjson
import pytest

from riskmon.client import ApplicationRefused, DecisionClient
from tests.integration.test_application_path import application

pytestmark = pytest.mark.integration


def http(method: str, url: str, body: bytes | None = None, timeout: float = 30) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_python_client_submits_and_awaits_the_decision(make_worker, services) -> None:
    worker = make_worker().start()
    with DecisionClient(services.kafka_bootstrap, topic_prefix=worker.prefix) as client:
        decision = client.submit(application(1), timeout=30)
        assert decision["application_id"] == "app-00001"
        assert decision["outcome"] in ("approve", "review", "reject") and decision["reasons"] is not None
        with pytest.raises(ApplicationRefused) as refused:
            client.submit(application(2, amount=-1), timeout=30)
        assert refused.value.error["field"] == "amount" and refused.value.error["type"] == "minimum"


def test_http_endpoint_decides_validates_and_looks_up(make_worker, services) -> None:
    worker = make_worker().start()
    base = f"http://127.0.0.1:{worker.web_port}"
    status, decision = http("POST", f"{base}/v1/applications?timeout=30", orjson.dumps(application(3)))
    assert status == 200, decision
    assert decision["application_id"] == "app-00003" and decision["stage"] == "automated"

    status, error = http("POST", f"{base}/v1/applications", orjson.dumps(application(4, term_months=0)))
    assert status == 400 and error["error"]["field"] == "term_months"

    status, stored = http("GET", f"{base}/v1/decisions/app-00003")
    assert status == 200 and stored["decision_id"] == decision["decision_id"]
    status, _ = http("GET", f"{base}/v1/decisions/app-unknown")
    assert status == 404
    status, health = http("GET", f"{base}/health")
    assert status == 200 and health["status"] == "ok"
