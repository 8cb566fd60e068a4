"""The two baselines every throughput figure is divided by.

``confluent``: a bare confluent-kafka consume -> produce loop in Python (what
the broker and client allow one Python process).
``faust``: a plain Faust agent that forwards each event unchanged (what Faust
itself costs), as shipped: its consumer waits up to 1,500 ms per fetch.
``faust-tuned``: the same agent tuned as riskmon's worker is: its fetch wait
and minimum (``RISKMON_FETCH_MAX_WAIT_MS``, ``RISKMON_FETCH_MIN_BYTES``, set
through the same :mod:`riskmon.runtime.patches.fetch_wait`, which also hands
fetched messages over without Faust's four tasks each), its event loop
(``RISKMON_EVENT_LOOP``, uvloop) and no terminal spinner (which sets the root
logger to DEBUG, so every debug call in aiokafka and Faust builds a record;
:func:`riskmon.runtime.worker.faust_worker`). Latency is compared with this
one, so that a ratio measures riskmon's work and not a Faust setting.

Run as ``python -m bench.baselines confluent|faust|faust-tuned SRC DST BOOTSTRAP GROUP``;
``SRC`` may list several topics separated by commas (the harness's mix of
applications, transactions and repayments); both stop on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import tempfile


def confluent_passthrough(src: str, dst: str, bootstrap: str, group: str) -> None:
    from confluent_kafka import Consumer, Producer

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": True}
    )
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
    consumer.subscribe(src.split(","))
    running = True

    def stop(*_: object) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    while running:
        for msg in consumer.consume(
            500, timeout=0.01
        ):  # returns at 500 messages or the timeout: keep it short for latency
            if msg.error():
                continue
            producer.produce(dst, key=msg.key(), value=msg.value())
        producer.poll(0)
    producer.flush(10)
    consumer.close()


def faust_passthrough(src: str, dst: str, bootstrap: str, group: str, *, tuned: bool = False) -> None:
    import faust

    from riskmon.settings import settings_from_env

    settings = settings_from_env()
    if tuned:
        from riskmon.runtime.tuning.event_loop import install_event_loop

        install_event_loop(settings.event_loop)  # before Faust creates its loop
    app = faust.App(
        group,
        broker=f"kafka://{bootstrap}",
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        datadir=f"{tempfile.gettempdir()}/riskmon-bench-faust-{{conf.id}}",  # not in the caller's cwd
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
    )
    if tuned:
        from riskmon.runtime.patches.fetch_wait import use_fetch_wait

        use_fetch_wait(app, settings.fetch_max_wait_ms, settings.fetch_min_bytes)
    source = app.topic(*src.split(","), value_serializer="raw", key_serializer="raw")
    sink = app.topic(dst, value_serializer="raw", key_serializer="raw")

    @app.agent(source, concurrency=1)
    async def forward(stream: faust.StreamT) -> None:
        async for event in stream.events():
            await sink.send(key=event.message.key, value=event.message.value)

    if tuned:
        from riskmon.runtime.worker import faust_worker

        faust_worker(app, "warning").execute_from_commandline()
        return
    from faust.worker import Worker

    Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False).execute_from_commandline()


if __name__ == "__main__":
    kind, src, dst, bootstrap, group = sys.argv[1:6]
    runs = {
        "confluent": confluent_passthrough,
        "faust": faust_passthrough,
        "faust-tuned": lambda *a: faust_passthrough(*a, tuned=True),
    }
    runs[kind](src, dst, bootstrap, group)
