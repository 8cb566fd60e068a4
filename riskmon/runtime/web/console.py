"""The live web console on the worker's web port: ``/console`` and its feeds.

``GET /console`` is the page (package data, ``riskmon/console/static``);
``GET /console/api/events`` is a server-sent event stream (a ``snapshot``
first, then ``alerts`` and ``decisions`` as they arrive);
``GET /console/api/snapshot`` the same snapshot as JSON, and
``GET /console/api/indicators`` the indicator centre (current values, series,
thresholds). Acknowledging and silencing go through the existing
``/v1/alerts/{key}/ack`` and ``/v1/silences`` endpoints, so the console has no
write path of its own.

Who may: the page and its assets are served to anyone (they hold no data, and
the sign-in form is on them); the feeds need ``console.view`` when auth is on.
The page keeps the token in ``sessionStorage`` and sends it in the
``Authorization`` header, on the feeds too (the event stream is read with
``fetch``, since ``EventSource`` cannot send a header); no cookie is ever set,
so another site cannot make the browser act with it.

Why a tail per worker (:class:`ConsoleFeed`): the alert manager, the portfolio
watch and the decision agents each run wherever Kafka put their partitions.
Reading ``risk.alerts``, ``credit.decisions`` and ``risk.portfolio.events``
on every partition, without a consumer group (like
:class:`~riskmon.runtime.web.decisions.DecisionWatcher`), gives each worker's
console the whole system, and replaying the recent end of each topic on start
gives a restarted worker its history back. Alert state saved by the manager
in Redis fills in what is older than the replay.

The feed never raises into the worker: a failure is logged and the tail
starts again a second later; the decision path does not depend on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from importlib import resources
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry

from riskmon.config import RiskConfig
from riskmon.console import AlertBoard, DecisionRing, IndicatorCentre, model_auc
from riskmon.console.metric_values import model_calibration
from riskmon.portfolio.handler import LOAN_RATES_KEY
from riskmon.runtime.topics import topic_names
from riskmon.runtime.web.alerts import scan_alert_docs
from riskmon.runtime.web.guard import AuthFailure, Guard
from riskmon.settings import Settings

__all__ = ["ConsoleFeed", "register_console"]

log = logging.getLogger(__name__)

DECISIONS_REPLAY = 100  # per partition of credit.decisions
ALERTS_REPLAY = 500  # per partition of risk.alerts
PORTFOLIO_REPLAY_SECONDS = 3600.0  # the decision window of the default configuration
RECONCILE_SECONDS = 60.0
AUC_SECONDS = 10.0
KEEPALIVE_SECONDS = 15.0
#: The feed's longest fetch wait: a page refresh can wait 100 ms, and the agents' loop is spared a fetch per record.
FEED_FETCH_WAIT_MS = 100
QUEUE_SIZE = 1000
_CLOSE = ("close", None)

_ASSETS = {"console.css": "text/css", "console.js": "text/javascript", "charts.js": "text/javascript"}
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
}


class _Subscriber:
    """One connected page: a bounded queue; a page that cannot keep up is dropped and reconnects."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE)

    def offer(self, item: tuple[str, Any]) -> bool:
        try:
            self.queue.put_nowait(item)
            return True
        except asyncio.QueueFull:
            return False

    def close(self) -> None:
        while not self.offer(_CLOSE):
            self.queue.get_nowait()


class ConsoleFeed:
    """Tails the console's topics, keeps the board, the recent decisions and the indicators, and fans out."""

    def __init__(
        self,
        *,
        settings: Settings,
        config: RiskConfig,
        client: Any,
        namespace: str,
        registry: CollectorRegistry,
        consumer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        names = topic_names(settings)
        self._decisions, self._alerts, self._portfolio = names.decisions, names.alerts, names.portfolio
        self._bootstrap = settings.kafka_bootstrap
        self._kwargs = consumer_kwargs or {}
        self._client = client
        self._namespace = namespace
        self._registry = registry
        self.board = AlertBoard()
        self.decisions = DecisionRing()
        self.centre = IndicatorCentre(config.detectors)
        self.ready = False
        self._subscribers: set[_Subscriber] = set()
        self._task: asyncio.Task | None = None
        self._consumer: AIOKafkaConsumer | None = None

    # -- the page's side -------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "alerts": self.board.alerts(),
            "decisions": self.decisions.views(orjson.loads),
            "open_alerts": self.board.open_by_level(),
        }

    def indicators(self) -> dict[str, Any]:
        return self.centre.snapshot(time.time(), open_alerts=self.board.open_by_level())

    def subscribe(self) -> tuple[dict[str, Any], _Subscriber]:
        """The current snapshot and a queue of what follows it (no await in between, so nothing is missed)."""
        subscriber = _Subscriber()
        self._subscribers.add(subscriber)
        return self.snapshot(), subscriber

    def unsubscribe(self, subscriber: _Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def _broadcast(self, event: str, data: Any) -> None:
        for subscriber in list(self._subscribers):
            if not subscriber.offer((event, data)):
                log.info("console page too slow; dropping its stream (it reconnects with a fresh snapshot)")
                self._subscribers.discard(subscriber)
                subscriber.close()

    # -- the tail ----------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        for subscriber in list(self._subscribers):
            subscriber.close()
        self._subscribers.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._close_consumer()

    async def _close_consumer(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            try:
                await consumer.stop()
            except Exception:  # pragma: no cover - best effort on the way out
                log.debug("console consumer did not stop cleanly", exc_info=True)

    async def _run(self) -> None:
        while True:
            try:
                await self._tail()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("console feed failed; starting again in 1 s")
                await self._close_consumer()
                await asyncio.sleep(1.0)

    async def _assign(self) -> dict[TopicPartition, int]:
        """Assign every partition of the three topics at their recent end; returns the end offsets."""
        consumer = self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, group_id=None, enable_auto_commit=False, **self._kwargs
        )
        await consumer.start()
        topics = (self._decisions, self._alerts, self._portfolio)
        if any(not consumer.partitions_for_topic(t) for t in topics):
            await consumer._client.force_metadata_update()  # topics created moments ago
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        if not tps:
            raise RuntimeError(f"none of {', '.join(topics)} exists yet")
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        begins = await consumer.beginning_offsets(tps)
        portfolio = [tp for tp in tps if tp.topic == self._portfolio]
        since = int((time.time() - PORTFOLIO_REPLAY_SECONDS) * 1000)
        at_time = await consumer.offsets_for_times({tp: since for tp in portfolio}) if portfolio else {}
        for tp in tps:
            back = {self._decisions: DECISIONS_REPLAY, self._alerts: ALERTS_REPLAY}.get(tp.topic)
            if back is not None:
                consumer.seek(tp, max(begins[tp], ends[tp] - back))
            else:
                found = at_time.get(tp)
                consumer.seek(tp, found.offset if found is not None else ends[tp])
        return ends

    async def _tail(self) -> None:
        self.ready = False
        ends = await self._assign()
        consumer = self._consumer
        assert consumer is not None
        next_reconcile = next_auc = 0.0
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            alerts: list[Any] = []
            decisions: list[Any] = []
            for tp, records in batches.items():
                for record in records:
                    if tp.topic == self._decisions:
                        self.decisions.add(record.value)
                        if self._subscribers:  # only a connected page wants them as they come
                            decisions.append(record.value)
                    else:
                        self._record(tp.topic, record, alerts)
            now = time.monotonic()
            if not self.ready and await self._caught_up(consumer, ends):
                await self._reconcile()
                next_reconcile = now + RECONCILE_SECONDS
                self.ready = True
                log.info("console feed caught up: %d alerts, replayed the topics' recent end", len(self.board.alerts()))
                self._broadcast("snapshot", self.snapshot())
                continue
            if self.ready:
                if now >= next_reconcile:
                    next_reconcile = now + RECONCILE_SECONDS
                    alerts += await self._reconcile()
                if alerts:
                    self._broadcast("alerts", alerts)
                if decisions and self._subscribers:
                    ring = DecisionRing(DECISIONS_REPLAY)
                    for raw in decisions[-DECISIONS_REPLAY:]:
                        ring.add(raw)
                    self._broadcast("decisions", ring.views(orjson.loads)[::-1])  # oldest first, as they came
            if now >= next_auc:
                next_auc = now + AUC_SECONDS
                self.centre.on_auc(model_auc(self._registry), time.time())
                self.centre.on_calibration(model_calibration(self._registry))
                await self._read_loan_rates()

    @staticmethod
    async def _caught_up(consumer: Any, ends: dict[Any, int]) -> bool:
        """Whether every partition reached the end it had at start (stops at the first one behind)."""
        for tp, end in ends.items():
            if await consumer.position(tp) < end:
                return False
        return True

    def _record(self, topic: str, record: Any, changed: list[dict[str, Any]]) -> None:
        """One alert or portfolio message; a message the console cannot read is skipped (the worker keeps it)."""
        try:
            doc = orjson.loads(record.value)
        except orjson.JSONDecodeError:
            return
        if not isinstance(doc, dict):
            return
        t = record.timestamp / 1000.0
        if topic == self._alerts:
            view = self.board.apply_feed(doc)
            if view is not None:
                changed.append(view)
                self.centre.on_alert(doc, t)
        else:
            self.centre.on_portfolio(doc, t)

    async def _read_loan_rates(self) -> None:
        """The portfolio watch's loan indicators from Redis (see :mod:`riskmon.portfolio.handler`)."""
        try:
            raw = await self._client.hgetall(f"{self._namespace}:{LOAN_RATES_KEY}")
            values = {k.decode() if isinstance(k, bytes) else k: orjson.loads(v) for k, v in raw.items()}
        except Exception as exc:
            log.warning("console could not read the loan rates from Redis (%s)", exc)
            return
        self.centre.on_loan_rates(values, time.time())

    async def _reconcile(self) -> list[dict[str, Any]]:
        """Bring in what the manager saved in Redis and the feed has not shown (older than the replay)."""
        changed: list[dict[str, Any]] = []
        try:
            async for docs in scan_alert_docs(self._client, self._namespace):
                changed += self.board.reconcile(docs)
        except Exception as exc:
            log.warning("console could not read the alert state from Redis (%s); showing the feed only", exc)
        return [view for view in changed if self.board.get(view["dedup_key"]) is view]  # not trimmed since


def _sse(event: str, data: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _asset(name: str) -> bytes:
    return resources.files("riskmon.console").joinpath("static", name).read_bytes()


def register_console(app: Any, *, guard: Guard, **feed_kwargs: Any) -> ConsoleFeed:
    """Add the console's pages to a Faust app and run its feed (``ConsoleFeed(**feed_kwargs)``)
    while the worker runs; ``guard`` asks for ``console.view`` on the feeds."""
    from aiohttp import web as aioweb
    from faust import web

    feed = ConsoleFeed(**feed_kwargs)
    page = _asset("index.html")
    assets = {name: _asset(name) for name in _ASSETS}

    def json_response(doc: Any) -> aioweb.Response:
        return aioweb.Response(body=orjson.dumps(doc), content_type="application/json", headers=_HEADERS)

    async def refused(request: Any) -> aioweb.Response | None:
        try:
            await guard.check(request, "console.view")
        except AuthFailure as exc:
            answer: aioweb.Response = guard.refuse(exc)
            answer.headers.update(_HEADERS)
            return answer
        return None

    @app.page("/console{slash:/?}")
    class Console(web.View):
        async def get(self, request: web.Request, slash: str = "") -> aioweb.Response:
            return aioweb.Response(body=page, content_type="text/html", charset="utf-8", headers=_HEADERS)

    @app.page("/console/assets/{name}")
    class Asset(web.View):
        async def get(self, request: web.Request, name: str) -> aioweb.Response:
            if name not in assets:
                return aioweb.Response(status=404, text="no such asset", headers=_HEADERS)
            return aioweb.Response(body=assets[name], content_type=_ASSETS[name], charset="utf-8", headers=_HEADERS)

    @app.page("/console/api/snapshot")
    class Snapshot(web.View):
        async def get(self, request: web.Request) -> aioweb.Response:
            return await refused(request) or json_response(feed.snapshot())

    @app.page("/console/api/indicators")
    class Indicators(web.View):
        async def get(self, request: web.Request) -> aioweb.Response:
            return await refused(request) or json_response(feed.indicators())

    @app.page("/console/api/events")
    class Events(web.View):
        async def get(self, request: web.Request) -> aioweb.StreamResponse:
            denied = await refused(request)
            if denied is not None:
                return denied
            response = aioweb.StreamResponse(
                headers={**_HEADERS, "Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
            )
            await response.prepare(request)  # type: ignore[arg-type]  # Faust's Request wraps aiohttp's
            snapshot, subscriber = feed.subscribe()
            try:
                await response.write(b"retry: 2000\n" + _sse("snapshot", snapshot))
                while True:
                    try:
                        event, data = await asyncio.wait_for(subscriber.queue.get(), KEEPALIVE_SECONDS)
                    except TimeoutError:
                        await response.write(b": keep-alive\n\n")
                        continue
                    if event == _CLOSE[0]:
                        break
                    await response.write(_sse(event, data))
            except ConnectionResetError:  # the page went away
                pass
            finally:
                feed.unsubscribe(subscriber)
            return response

    @app.task
    async def _start_console_feed() -> None:
        await feed.start()

    @app.on_before_shutdown.connect
    async def _stop_console_feed(app: Any, **kwargs: Any) -> None:  # pragma: no cover - shutdown path
        await feed.stop()

    return feed
