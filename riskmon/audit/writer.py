"""The audit writer: one worker chains every audit record onto ``risk.audit``.

Decisions and reviews send their audit records to the internal,
single-partition ``risk.audit.pending`` topic in the same batch, and the
same wait for the broker's acknowledgement, as the decision itself: a durable
decision implies a durable pending record. Kafka assigns that one partition
to one worker, which is the writer:

* On its first batch it reads ``risk.audit`` to the end and resumes the chain
  (:meth:`riskmon.audit.AuditChain.resume` validates every entry; a damaged
  log is never continued, the writer stops appending and logs critically).
* Pending messages carry a batch of records (``{"records": [...]}``, one
  message per decision batch, so the writer pays Faust's per-message cost
  once per batch). Each chained record keeps its pending position
  (``source``: topic, partition, offset, index in the message). The chain, not
  the consumer's committed offset, is the truth: a record whose position the
  chain already holds is skipped, so a crash between producing an entry and
  committing the input neither duplicates nor skips it.
* Upstream duplicates (a decision re-sent after a crash) are dropped by
  ``<ns>:audited:<kind>:<id>`` in Redis, set only after the broker acked,
  and within a batch by the same key. A writer killed between the ack and
  the mark leaves the log's last batch unmarked: on resuming, the writer
  marks that tail again before it chains anything.
* After each batch's entries are committed, a checkpoint (size, root, head,
  Ed25519 signature: :mod:`riskmon.audit.signing`) is stored apart from the
  log when ``checkpoint_every`` more entries were chained.
* Operator actions (:mod:`riskmon.audit.operator`) arrive on the same topic
  and are chained like decisions; their mark is their ``action_id``.

Fencing (:mod:`riskmon.audit.appender`): entries are written in one Kafka
transaction per batch, with a ``transactional.id`` every worker shares. A
writer takes that id (fencing any older one) *before* it reads the log to
resume, so during an overlapping rebalance the older writer's next commit
fails and nothing it computed against a stale head reaches the log. A fenced
writer that no longer holds the pending partition (``owns``) leaves its batch
to the new one, which reads it again from the committed offset; one that
still holds it (fenced by a zombie) takes the id back and retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from riskmon.audit import AuditChain, AuditChainError
from riskmon.audit.appender import AuditAppender, WriterFenced, transactional_id
from riskmon.audit.log import checkpoint_key, read_audit_log
from riskmon.audit.signing import CheckpointSigner, Ed25519PublicKey
from riskmon.pipeline.messages import Incoming
from riskmon.pipeline.store import DecisionStore
from riskmon.redis_clients import REDIS_ERRORS
from riskmon.schemas import dumps, format_timestamp

__all__ = ["AuditWriter"]

log = logging.getLogger(__name__)

#: Seconds between attempts at a batch that failed (then every 5 s until it succeeds).
RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0)

#: How long a record's "already chained" mark is kept (a duplicate upstream
#: record arriving later than this would be chained twice, each entry valid).
AUDITED_TTL_SECONDS = 400 * 86400

#: On resuming, at least this many of the log's last entries are marked again (see ``_mark_tail``).
TAIL_REMARK = 1000

#: Mark every KEY with ``1`` for ARGV[1] seconds: one command per batch.
MARK_LUA = """
for _, key in ipairs(KEYS) do
  redis.call('SET', key, '1', 'EX', ARGV[1])
end
return #KEYS
"""


class AuditWriter:
    """Chains pending audit records; never raises out of :meth:`handle`, never skips a batch."""

    def __init__(
        self,
        *,
        store: DecisionStore,
        audit_topic: str,
        kafka_config: dict[str, Any],
        signer: CheckpointSigner,
        trusted_keys: dict[str, Ed25519PublicKey] | None = None,
        checkpoint_key_bytes: bytes | None = None,
        app_id: str = "riskmon",
        checkpoint_every: int = 100,
        owns: Callable[[], bool] = lambda: True,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``signer`` signs checkpoints; ``trusted_keys`` (besides the signer's own) and
        ``checkpoint_key_bytes`` (HMAC checkpoints of before) verify those already stored;
        ``owns`` says whether this worker still holds the pending partition."""
        self._sleep = sleep
        self._store = store
        self._mark = store.client.register_script(MARK_LUA)
        self._topic = audit_topic
        self._kafka = kafka_config
        self._signer = signer
        self._trusted = {**(trusted_keys or {}), signer.key_id: signer.public_key}
        self._key = checkpoint_key_bytes
        self.owns = owns
        self._appender = AuditAppender(dict(kafka_config), audit_topic, transactional_id(app_id))
        self.fenced = 0  # batches given up to a newer writer
        self._every = checkpoint_every
        self._now = wall_clock
        self._chain: AuditChain | None = None
        self._broken: str | None = None
        self._last_checkpoint_size = 0
        self._chained: dict[str, tuple[int, int]] = {}  # highest (offset, index) chained per pending partition
        self._unacknowledged = False  # entries chained in memory, not yet acknowledged by the broker

    async def _resume(self) -> AuditChain | None:
        if self._chain is not None or self._broken:
            return self._chain
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._appender.start)  # fence any older writer first, then read
        entries = await loop.run_in_executor(None, read_audit_log, self._kafka, self._topic)
        try:
            checkpoints = [
                orjson.loads(x) for x in await self._store.client.lrange(checkpoint_key(self._store.namespace), 0, -1)
            ]
        except REDIS_ERRORS:
            checkpoints = []
        try:
            self._chain = AuditChain.resume(entries, checkpoints=checkpoints, key=self._key, public_keys=self._trusted)
        except AuditChainError as exc:
            self._broken = str(exc)
            log.critical("the audit trail does not verify; not appending to it: %s", exc)
            return None
        self._last_checkpoint_size = self._chain.size
        await self._mark_tail(entries)
        self._chained = {}
        for entry in entries:
            src = entry.get("record", {}).get("source") or {}
            if isinstance(src.get("offset"), int):
                where = f"{src.get('topic')}:{src.get('partition')}"
                self._chained[where] = max(
                    self._chained.get(where, (-1, -1)), (src["offset"], int(src.get("index", 0)))
                )
        log.info("audit chain resumed at size %d (head %s)", self._chain.size, self._chain.head[:12])
        return self._chain

    def _mark_key(self, record: dict) -> str:
        """The Redis key that says ``record`` (a decision, a review, an operator action) is in the trail."""
        ns, kind = self._store.namespace, record["kind"]
        if record.get("action_id"):
            return f"{ns}:audited:{kind}:{record['action_id']}"
        return f"{ns}:audited:{kind}:{record.get('decision_id')}:{record.get('reviewed_at', '')}"

    async def _mark_tail(self, entries: Sequence[dict]) -> None:
        """Mark again the records of the log's last batch (and at least the last ``TAIL_REMARK`` entries).

        Why: a writer marks a batch only after the broker acknowledged its
        entries. Killed in between, it leaves entries in the log with no mark,
        and the same decision re-sent upstream (its worker was killed before
        it recorded the delivery) would be chained a second time. Batches are
        chained one at a time and share one chaining time (``at``), so the
        unmarked entries can only be the tail with the last ``at``. Marking is
        idempotent: marking more than needed costs nothing but a longer script.
        """
        if not entries:
            return
        last_at = entries[-1].get("at")
        start = max(0, len(entries) - TAIL_REMARK)
        while start > 0 and entries[start - 1].get("at") == last_at:
            start -= 1
        keys = [
            self._mark_key(e["record"])
            for e in entries[start:]
            if isinstance(e.get("record"), dict) and "kind" in e["record"]
        ]
        if not keys:
            return
        try:
            await self._mark(keys=keys, args=[AUDITED_TTL_SECONDS])
        except REDIS_ERRORS as exc:
            log.warning("could not mark the audit log's last %d records in Redis: %s", len(keys), exc)

    async def handle(self, batch: Sequence[Incoming]) -> None:
        """Chain ``batch``; on failure re-read the log and try the same batch again.

        Why retry rather than move on: when this returns, Faust acknowledges the
        batch, and its pending records are never read again. Giving up on a
        failed batch (the broker down for a while) left decisions out of the
        trail. Retrying is safe: the chain is re-read from ``risk.audit`` first,
        and records it already holds are skipped by their pending position.
        """
        attempt = 0
        while True:
            try:
                await self._handle(batch)
                return
            except WriterFenced:
                self._chain = None
                if not self.owns():
                    self.fenced += 1
                    log.warning(
                        "audit writer fenced by a newer one and no longer holding the pending partition: "
                        "its batch of %d is left to the new writer, nothing of it was appended",
                        len(batch),
                    )
                    return
                log.warning("audit writer fenced while it still holds the pending partition: taking the id back")
                attempt += 1
                await self._sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])
            except Exception:
                delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
                log.exception(
                    "audit writer failed on a batch of %d; re-reading the log and retrying in %.1f s", len(batch), delay
                )
                self._chain = None
                attempt += 1
                await self._sleep(delay)

    def close(self) -> None:
        """Release the transactional producer (the worker's shutdown)."""
        self._appender.close()

    async def _handle(self, batch: Sequence[Incoming]) -> None:
        chain = await self._resume()
        if chain is None or not batch:
            return
        where = f"{batch[0].topic}:{batch[0].partition}"
        position = self._chained.get(where, (-1, -1))
        items = []
        for message in batch:
            try:
                records = orjson.loads(message.value or b"")["records"]
            except Exception:
                log.error("unreadable pending audit message at offset %s", message.offset)
                continue
            for index, record in enumerate(records):
                if message.offset is not None and (message.offset, index) <= position:
                    continue  # already chained before a restart
                record["source"] = {
                    "topic": message.topic,
                    "partition": message.partition,
                    "offset": message.offset,
                    "index": index,
                }
                items.append(record)
        if not items:
            return
        marks = [self._mark_key(r) for r in items]
        try:
            seen = await self._store.client.mget(marks)
        except REDIS_ERRORS:
            seen = [None] * len(items)
        out: list[tuple[bytes, bytes]] = []
        appended = []
        at = format_timestamp(self._now())  # one chaining time per batch: the batch is chained at once
        in_batch: set[str] = set()
        self._unacknowledged = (
            True  # until every entry below is acknowledged: no checkpoint (handle() re-reads on failure)
        )
        try:
            for record, mark, known in zip(items, marks, seen, strict=True):
                if known is not None or mark in in_batch:
                    continue  # the same decision or review sent twice upstream (in an earlier batch, or in this one)
                in_batch.add(mark)
                entry = chain.append(record, at=at)
                key = str(record.get("decision_id") or record.get("action_id") or "").encode()
                out.append((key, dumps(entry)))
                appended.append(mark)
                src = record["source"]
                self._chained[where] = max(self._chained.get(where, (-1, -1)), (src["offset"], src["index"]))
            if out:  # one transaction: all of the batch, or (fenced, failed) none of it
                await asyncio.get_running_loop().run_in_executor(None, self._appender.append, out)
        finally:
            self._unacknowledged = False
        if appended:
            try:
                await self._mark(keys=appended, args=[AUDITED_TTL_SECONDS])  # one command, not one per record
            except REDIS_ERRORS as exc:
                log.warning("could not mark audited records in Redis: %s", exc)
        if chain.size - self._last_checkpoint_size >= self._every:
            await self.checkpoint()

    async def checkpoint(self) -> dict[str, Any] | None:
        """Store a checkpoint of the acknowledged chain head apart from the log."""
        chain = self._chain
        if chain is None or chain.size == self._last_checkpoint_size or self._unacknowledged:
            return None  # nothing new, or the timer came while a batch waits for the broker's acks
        cp = chain.checkpoint(at=format_timestamp(self._now()), signer=self._signer)
        try:
            await self._store.client.rpush(checkpoint_key(self._store.namespace), dumps(cp))
        except REDIS_ERRORS as exc:
            log.warning("could not store the audit checkpoint: %s", exc)
            return None
        self._last_checkpoint_size = chain.size
        return cp
