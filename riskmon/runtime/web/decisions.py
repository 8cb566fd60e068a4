"""HTTP front door on the worker for approval services that do not speak Kafka.

``POST /v1/applications`` validates the body (400 with the named field when it
breaks the contract), produces it to ``credit.applications`` like any other
producer would, and waits for its decision on ``credit.decisions`` (200), or
answers 504 after ``?timeout=`` seconds (default 10, at most 60): the
application is then still decided, and ``GET /v1/decisions/<application_id>``
returns it once it exists.

Who may, when auth is on (:mod:`riskmon.runtime.web.guard`): ``POST`` needs
the ``applications.submit`` permission, ``GET`` the ``decisions.read`` one
(the ``submitter`` role has both; ``viewer`` and ``operator`` the second:
:mod:`riskmon.auth.roles`). Abuse limits, whatever
auth says: a body above ``RISKMON_MAX_MESSAGE_BYTES`` is answered 413 before
it is read further, and each caller (a token, a proxy identity, or an address
when auth is off) gets ``RISKMON_HTTP_RATE`` requests a second with bursts of
``RISKMON_HTTP_BURST``; past that, 429 with ``Retry-After``.

Why the HTTP path still goes through Kafka: there is one path to a decision,
with its dead letters, dedup, metrics and audit; HTTP is only a way in. The
decision may be made by another worker (partitions are shared), so every
worker watches all partitions of the decisions topic without a consumer group.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from riskmon.runtime.web.errors import error_body
from riskmon.runtime.web.guard import AuthFailure, Guard, Refused
from riskmon.schemas import Application, SchemaError, decode_object

__all__ = ["DecisionWatcher", "register_http_api"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 60.0
#: The decision watcher's longest fetch wait: at most 20 ms on top of the decision a caller waits for.
WATCHER_FETCH_WAIT_MS = 20


class DecisionWatcher:
    """Reads every partition of the decisions topic and wakes waiting requests."""

    def __init__(self, bootstrap: str, topic: str, **consumer_kwargs: Any) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._kwargs = consumer_kwargs
        self._waiting: dict[str, asyncio.Future] = {}
        self._task: asyncio.Task | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self.ready = asyncio.Event()

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, group_id=None, enable_auto_commit=False, **self._kwargs
        )
        await self._consumer.start()
        partitions = self._consumer.partitions_for_topic(self._topic) or set()
        if not partitions:
            await self._consumer._client.force_metadata_update()  # the topic was created moments ago
            partitions = self._consumer.partitions_for_topic(self._topic) or set()
        tps = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        self._consumer.assign(tps)
        await self._consumer.seek_to_end(*tps)
        for tp in tps:  # pin the end positions now, so nothing decided after start is missed
            await self._consumer.position(tp)
        self.ready.set()
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=1000)
            if not self._waiting:
                continue  # nobody waits: every decision passes through here, so skip the work
            for records in batches.values():
                for record in records:
                    application_id = _application_id(record)
                    if application_id is None:
                        continue
                    future = self._waiting.pop(application_id, None)
                    if future is not None and not future.done():
                        future.set_result(record.value)

    def expect(self, application_id: str) -> asyncio.Future:
        """A future resolved with the raw decision of ``application_id``."""
        future = self._waiting.get(application_id)
        if future is None or future.done():
            future = self._waiting[application_id] = asyncio.get_event_loop().create_future()
        return future

    def forget(self, application_id: str, future: asyncio.Future) -> None:
        if self._waiting.get(application_id) is future:
            del self._waiting[application_id]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._consumer is not None:
            await self._consumer.stop()


def register_http_api(
    app: Any, *, applications_topic: Any, watcher: DecisionWatcher, store: Any, max_bytes: int, guard: Guard
) -> None:
    """Add the ``/v1`` pages to a Faust app."""
    from faust import web

    @app.page("/v1/applications")
    class Applications(web.View):
        async def post(self, request: web.Request) -> web.Response:
            try:
                _caller, body = await guard.admit(request, "applications.submit", max_bytes)
            except Refused as refused:
                return refused.response
            try:
                application = Application.from_dict(decode_object(body, max_bytes=max_bytes))
            except SchemaError as exc:
                return self.json({"error": exc.to_error()}, status=400)
            try:
                timeout = min(MAX_TIMEOUT, float(request.query.get("timeout", DEFAULT_TIMEOUT)))
            except ValueError:
                return self.json(error_body("type", "timeout: must be seconds", field="timeout"), status=400)
            try:
                await asyncio.wait_for(watcher.ready.wait(), timeout)
            except TimeoutError:
                return self.json(error_body("unavailable", "the decision watcher is not ready yet"), status=503)
            app_id = application.application_id
            future = watcher.expect(app_id)
            try:
                delivery = await applications_topic.send(key=app_id.encode(), value=body)
                await delivery
                decision = await asyncio.wait_for(asyncio.shield(future), timeout)
            except TimeoutError:
                return self.json(
                    {
                        "error": {
                            "type": "timeout",
                            "message": f"no decision within {timeout:g}s; GET /v1/decisions/{app_id} later",
                        }
                    },
                    status=504,
                )
            finally:
                watcher.forget(app_id, future)
            return self.bytes(decision, content_type="application/json")

    @app.page("/v1/decisions/{application_id}")
    class Decisions(web.View):
        async def get(self, request: web.Request, application_id: str) -> web.Response:
            try:
                await guard.check(request, "decisions.read")
            except AuthFailure as exc:
                return guard.refuse(exc)
            stored = await store.get_decision(application_id)
            if stored is None:
                return self.json(error_body("not_found", f"no decision for {application_id}"), status=404)
            return self.bytes(stored, content_type="application/json")


def _application_id(record: Any) -> str | None:
    """The application a decision record is for: its key (decisions are keyed by
    ``application_id``), else its body; None for a record that names none.

    >>> class R: key, value = b"app-1", b"{}"
    >>> _application_id(R())
    'app-1'
    >>> R.key, R.value = None, b'{"application_id": "app-2"}'
    >>> _application_id(R()), _application_id(type("E", (), {"key": None, "value": b"x"})())
    ('app-2', None)
    """
    if record.key:
        try:
            return record.key.decode()
        except UnicodeDecodeError:
            return None
    try:
        return orjson.loads(record.value)["application_id"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
