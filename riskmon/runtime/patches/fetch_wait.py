"""The worker's Kafka transport: Faust's aiokafka driver with a configurable fetch wait and minimum.

What Faust does: faust-streaming 0.15.3 builds every worker's
``AIOKafkaConsumer`` with ``fetch_max_wait_ms=1500``, hard-coded, and
``fetch_min_bytes=1``. aiokafka sends no second fetch to a broker while one
is in flight, so a partition whose records were just consumed waits behind a
fetch the broker may hold for 1.5 s (1.40 s measured for one record in
``tests/integration/test_consumer_fetch_wait.py``); and under live load the
broker answers each fetch as soon as one record arrives, so the worker pays
a fetch round per few records.

What we change: :func:`use_fetch_wait` installs a subclass of Faust's own
aiokafka transport (``App.transport`` is a settable property of Faust's
public app interface) whose consumer thread sets the consumer's wait to
``RISKMON_FETCH_MAX_WAIT_MS`` (default 10) and its minimum to
``RISKMON_FETCH_MIN_BYTES`` (default 64 KiB) before the consumer starts.
aiokafka keeps the wait in a private attribute: if a new aiokafka renames it,
the worker refuses to start rather than silently waiting 1.5 s again. The
same module holds ``_Consumer._drain_messages``, a copy of Faust's fetch loop
with one call changed to :func:`riskmon.runtime.patches.handover.hand_over`;
it is used only when the installed Faust's loop hashes to the one copied
(:func:`drain_copy_applies`), otherwise Faust's own runs and the worker logs
a warning.

How to drop it: when Faust takes the consumer's fetch wait and minimum as
settings (and hands messages over without a task per message), delete this
module and :mod:`riskmon.runtime.patches.handover`, remove the
``use_fetch_wait`` call in :func:`riskmon.runtime.app.create_app`, pass the
settings to ``faust.App`` and give ``side_consumer_fetch``'s two keyword
arguments to the side consumers directly.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
from typing import Any, ClassVar, cast

import aiokafka
import faust
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as faust_aiokafka

from riskmon.runtime.patches.handover import hand_over

__all__ = ["FetchWaitTransport", "drain_copy_applies", "side_consumer_fetch", "use_fetch_wait"]

log = logging.getLogger(__name__)

_ATTRIBUTE = "_fetch_max_wait_ms"  # where AIOKafkaConsumer keeps the argument until start()
_MIN_ATTRIBUTE = "_fetch_min_bytes"


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread; the worker consumer it builds waits ``fetch_max_wait_ms``
    for ``fetch_min_bytes``."""

    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        for attribute, variable in (
            (_ATTRIBUTE, "RISKMON_FETCH_MAX_WAIT_MS"),
            (_MIN_ATTRIBUTE, "RISKMON_FETCH_MIN_BYTES"),
        ):
            if not isinstance(getattr(consumer, attribute, None), int):
                raise RuntimeError(
                    f"aiokafka {aiokafka.__version__} has no AIOKafkaConsumer.{attribute}: "
                    f"riskmon cannot set {variable} (see riskmon.runtime.patches.fetch_wait)"
                )
        setattr(consumer, _ATTRIBUTE, transport.fetch_max_wait_ms)
        setattr(consumer, _MIN_ATTRIBUTE, transport.fetch_min_bytes)
        return consumer


# sha256 of the source of faust-streaming 0.15.3's ``Consumer._drain_messages``,
# which ``_Consumer._drain_messages`` copies with one line changed.
_DRAIN_SOURCE_SHA256 = "44a2500309e83c630493f6828af50166ec8d96a0b3e4fb2bab735f704ae93417"


def drain_copy_applies() -> bool:
    """True when the installed Faust's ``_drain_messages`` is the one riskmon's copy was made from.

    Otherwise the worker keeps Faust's own (correct, slower) method and says so
    in its log: a copy of a changed method could silently undo a fix."""
    try:
        source = inspect.getsource(faust_consumer.Consumer._drain_messages)
    except (OSError, TypeError):  # no source installed
        return False
    return hashlib.sha256(source.encode()).hexdigest() == _DRAIN_SOURCE_SHA256


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - runs in every worker test
        """Faust's fetch loop, handing each message over without four tasks (:mod:`riskmon.runtime.patches.handover`).

        A copy of faust-streaming 0.15.3's method with one line changed:
        ``wait_first(callback(message), self.suspend_flow.wait())`` became
        ``hand_over(callback, message, self.suspend_flow, self.wait_first)``.
        Used only when :func:`drain_copy_applies`."""
        if not _USE_DRAIN_COPY:
            return await super()._drain_messages(fetcher)
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = cast(Any, self)._stopped.is_set
        fetcher_should_stop = cast(Any, fetcher)._stopped.is_set
        suspend_flow = self.suspend_flow
        wait_first = self.wait_first

        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        flag_consumer_fetching = faust_consumer.CONSUMER_FETCHING
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for

        yield_every = 100
        num_since_yield = 0
        sleep = asyncio.sleep

        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(flag_consumer_fetching)
                ait = cast(Any, getmany(timeout=1.0))

                # Sleeping because sometimes getmany is called in a loop
                # never releasing to the event loop
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0

                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            # We have a gap in income messages
                            if gap > 1 and r_offset:
                                acks_enabled = acks_enabled_for(message.topic)
                                if acks_enabled:
                                    await self._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None:  # noqa: SIM102 - as in the Faust source copied
                                if self._n_acked >= commit_every:
                                    self._n_acked = 0
                                    await self.commit()
                            await hand_over(callback, message, suspend_flow, wait_first)
                            set_read_offset(tp, offset)
                        else:
                            self.log.dev(
                                "DROPPED MESSAGE ROFF %r: k=%r v=%r",
                                offset,
                                message.key,
                                message.value,
                            )
                    unset_flag(flag_consumer_fetching)

        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                # we're already stopping so ignore
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                # we're already stopping so ignore
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(flag_consumer_fetching)


_USE_DRAIN_COPY = drain_copy_applies()
if not _USE_DRAIN_COPY:
    log.warning(
        "faust-streaming %s's Consumer._drain_messages is not the one riskmon's copy was made from: "
        "using Faust's own (about 60 us more CPU per message; see riskmon.runtime.patches.handover)",
        faust.__version__,
    )


class FetchWaitTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport whose worker consumer waits at most ``fetch_max_wait_ms`` per fetch
    for ``fetch_min_bytes`` of records."""

    Consumer: ClassVar[type] = _Consumer

    def __init__(self, *args: Any, fetch_max_wait_ms: int, fetch_min_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.fetch_min_bytes = fetch_min_bytes


def use_fetch_wait(app: faust.App, fetch_max_wait_ms: int, fetch_min_bytes: int) -> FetchWaitTransport:
    """Give ``app`` a consumer transport that waits ``fetch_max_wait_ms`` per fetch for
    ``fetch_min_bytes``.

    Call it right after ``faust.App(...)``: a transport that already exists
    (Faust creates one on first use) would keep its consumer's 1,500 ms."""
    if app._transport is not None:  # Faust's lazily created default already exists
        raise RuntimeError("use_fetch_wait must be called before anything uses app.transport")
    transport = FetchWaitTransport(
        app.conf.broker_consumer, app, fetch_max_wait_ms=fetch_max_wait_ms, fetch_min_bytes=fetch_min_bytes
    )
    app.transport = transport
    return transport


def side_consumer_fetch(fetch_min_bytes: int, fetch_max_wait_ms: int) -> dict[str, int]:
    """Fetch arguments for the worker's own readers of its outputs (console feed, decision watcher).

    aiokafka's defaults (``fetch_min_bytes=1``) make such a reader fetch once
    per few records of a busy output topic, a round of Python work each time
    on the agents' own event loop. These readers can wait: the console
    refreshes a page, and a caller waiting for its decision waits for the
    agents anyway. So they take the worker's fetch minimum, with a wait of
    their own.

    >>> side_consumer_fetch(65536, 20)
    {'fetch_min_bytes': 65536, 'fetch_max_wait_ms': 20}
    """
    return {"fetch_min_bytes": fetch_min_bytes, "fetch_max_wait_ms": fetch_max_wait_ms}
