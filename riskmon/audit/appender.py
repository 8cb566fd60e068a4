"""The one producer of ``risk.audit``: transactional, with a fixed id, so a newer writer fences an older one.

Why: Kafka gives ``risk.audit.pending``'s one partition to one worker, but
during a rebalance the worker that lost it may still be finishing a batch
while the worker that got it resumes the chain. Two writers appending at
once would fork the chain (two entries with the same ``seq``). Before this,
the writer compared the log's end with its chain before each batch; the check
and the write were not atomic.

With a transactional producer whose ``transactional.id`` is the same on every
worker (``<app id>-audit-writer``), :meth:`AuditAppender.start` (Kafka's
``InitProducerId``) aborts any transaction the previous holder of that id
left open and *fences* it: every later produce or commit from the older
producer fails with ``PRODUCER_FENCED``, so nothing it computed against the
chain head it knew can reach the log. The writer starts the appender *before*
it reads the log to resume, so what it reads is final. Readers use
``isolation.level=read_committed`` (:func:`riskmon.audit.log.read_audit_log`),
so an aborted batch is never seen; entries therefore no longer sit at offset
= ``seq`` (commit markers take offsets too), and nothing relies on it.

Blocking calls (librdkafka's transaction API); the writer runs them in an executor.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

__all__ = ["AuditAppender", "WriterFenced", "transactional_id"]

log = logging.getLogger(__name__)

#: Seconds a transaction call may take before it counts as failed (the writer then retries).
CALL_TIMEOUT = 30.0


class WriterFenced(RuntimeError):
    """A newer writer started with the same transactional id: this one may not append any more."""


def transactional_id(app_id: str) -> str:
    """The id every worker of one deployment shares for the audit writer."""
    return f"{app_id}-audit-writer"


class AuditAppender:
    """Appends batches of entries to the audit topic, one Kafka transaction per batch."""

    def __init__(self, kafka_config: dict[str, Any], topic: str, txn_id: str) -> None:
        self._config = {
            **kafka_config,
            "transactional.id": txn_id,
            "enable.idempotence": True,
            "acks": "all",
            "transaction.timeout.ms": 60_000,
            "message.max.bytes": 8 * 1024 * 1024,
        }
        self._topic = topic
        self._producer: Any = None

    @property
    def started(self) -> bool:
        return self._producer is not None

    def start(self) -> None:
        """Take the transactional id: fences any older producer holding it, aborting its open transaction."""
        self.close()
        producer = Producer(self._config)
        try:
            producer.init_transactions(CALL_TIMEOUT)
        except KafkaException as exc:
            raise RuntimeError(f"cannot start the audit writer's transactional producer: {exc}") from None
        self._producer = producer

    def append(self, entries: Sequence[tuple[bytes, bytes]]) -> None:
        """Write ``(key, value)`` entries in one transaction; returns once it is committed.

        Raises
        ------
        WriterFenced
            A newer writer took over: nothing of this batch is visible to readers.
        RuntimeError
            Any other failure (the transaction was aborted; try again after :meth:`start`).
        """
        producer = self._producer
        if producer is None:
            raise RuntimeError("the audit appender is not started")
        try:
            producer.begin_transaction()
            for key, value in entries:
                while True:
                    try:
                        producer.produce(self._topic, key=key, value=value)
                        break
                    except BufferError:  # the local queue is full: let it drain
                        producer.poll(0.1)
            producer.commit_transaction(CALL_TIMEOUT)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            self._abandon(error)
            if isinstance(error, KafkaError) and error.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED):
                raise WriterFenced(str(error)) from None
            raise RuntimeError(f"audit batch not committed: {exc}") from None

    def _abandon(self, error: Any) -> None:
        """After a failed transaction: abort it if that is still possible, and drop the producer."""
        if isinstance(error, KafkaError) and error.txn_requires_abort():
            try:
                self._producer.abort_transaction(CALL_TIMEOUT)
            except KafkaException:
                log.debug("abort of the failed audit transaction failed too", exc_info=True)
        self.close()

    def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            with contextlib.suppress(Exception):  # best effort on the way out
                producer.flush(1)
