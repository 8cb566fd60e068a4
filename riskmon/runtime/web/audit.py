"""The audit trail on the worker's web port, for auditors: the ``audit.read`` permission (role ``auditor``).

* ``GET /v1/audit/applications/{application_id}``: the application's audited
  history, every entry with its Merkle inclusion proof, as ``riskmon audit
  show`` prints it (404 when the trail holds nothing of it).
* ``GET /v1/audit/checkpoints``: the checkpoints kept apart from the log,
  each with ``problem`` (null when its signature verifies with the
  deployment's trusted keys), and those keys' ids.
* ``GET /v1/audit/export[?from=N&to=M]``: an export, byte for byte what
  ``riskmon audit export`` writes (``application/x-ndjson``), which
  ``riskmon audit verify --file F --public-key KEY`` checks offline. An
  auditor needs a token, not the deployment's Kafka and Redis credentials.

Why under ``/applications/``: an application id is free text, and
``/v1/audit/checkpoints`` must never be read as the history of an
application called ``checkpoints``.

The trail is read from ``risk.audit`` with librdkafka, which blocks: the
read runs in an executor, so the worker's event loop (decisions, the
console) keeps going, and one read at a time per worker, so a burst of
auditors' requests costs one trail read after another, not all at once. The
checkpoints are read first, with the worker's asyncio Redis client (see
:func:`riskmon.audit.trail.read_live`). When the trail cannot be read, the
answer is 503 with ``{"error": {"type": "unavailable", "message"}}``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import orjson

from riskmon.audit.log import checkpoint_key, read_audit_log
from riskmon.audit.signing import key_ids
from riskmon.audit.trail import application_history, checkpoint_report, export_bytes, trusted_public_keys
from riskmon.runtime.web.errors import error_body
from riskmon.runtime.web.guard import AuthFailure, Guard
from riskmon.settings import Settings

__all__ = ["register_audit_api"]

log = logging.getLogger(__name__)

#: Seconds a read of the whole trail may take before the answer is 503.
READ_TIMEOUT = 60.0
#: Seconds the audit topic is waited for when it does not answer (the command line waits 30).
TOPIC_WAIT = 5.0


def seq_param(request: Any, name: str) -> int | None:
    """The query parameter ``name`` as a sequence number (None when absent); ValueError naming it otherwise."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{name}: must be a sequence number (an integer >= 0)")
    return value


class TrailUnavailable(Exception):
    """The trail or its checkpoints could not be read (the message says which, and why)."""


def register_audit_api(app: Any, *, settings: Settings, client: Any, namespace: str, guard: Guard) -> None:
    """Add the ``/v1/audit`` pages to a Faust app; ``client`` is the worker's asyncio Redis client."""
    from faust import web

    keys, _ = trusted_public_keys(settings)  # read at start: a bad key file stops the worker, not a request
    hmac_key = settings.audit_checkpoint_key.encode()
    topic = settings.topic("risk.audit")
    kafka = settings.confluent_config()
    one_at_a_time = asyncio.Lock()

    async def checkpoints() -> list[dict]:
        try:
            raw = await client.lrange(checkpoint_key(namespace), 0, -1)
        except Exception as exc:
            raise TrailUnavailable(f"cannot read the audit checkpoints from Redis ({type(exc).__name__})") from None
        return [orjson.loads(x) for x in raw]

    async def trail() -> tuple[list[dict], list[dict]]:
        """Checkpoints first, then the log (in an executor; one read at a time)."""
        async with one_at_a_time:
            cps = await checkpoints()
            loop = asyncio.get_running_loop()
            try:
                entries = await loop.run_in_executor(
                    None, lambda: read_audit_log(kafka, topic, timeout=READ_TIMEOUT, topic_wait=TOPIC_WAIT)
                )
            except Exception as exc:
                log.warning("cannot read the audit trail for an auditor's request: %s", exc)
                raise TrailUnavailable(
                    f"cannot read the audit trail from Kafka ({type(exc).__name__}: {exc})"
                ) from None
            return entries, cps

    def unavailable(view: Any, exc: TrailUnavailable) -> Any:
        return view.json(error_body("unavailable", str(exc)), status=503)

    def bad(view: Any, field: str, message: str) -> Any:
        return view.json(error_body("invalid", message, field=field), status=400)

    @app.page("/v1/audit/applications/{application_id}")
    class ApplicationTrail(web.View):
        async def get(self, request: web.Request, application_id: str) -> web.Response:
            try:
                await guard.check(request, "audit.read")
            except AuthFailure as exc:
                return guard.refuse(exc)
            try:
                entries, cps = await trail()
            except TrailUnavailable as exc:
                return unavailable(self, exc)
            shown = application_history(entries, cps, application_id, key=hmac_key, public_keys=keys)
            if not shown["entries"]:
                return self.json(
                    error_body("not_found", f"the audit trail holds nothing of {application_id}"),
                    status=404,
                )
            return self.json(shown)

    @app.page("/v1/audit/checkpoints")
    class Checkpoints(web.View):
        async def get(self, request: web.Request) -> web.Response:
            try:
                await guard.check(request, "audit.read")
            except AuthFailure as exc:
                return guard.refuse(exc)
            try:
                cps = await checkpoints()
            except TrailUnavailable as exc:
                return unavailable(self, exc)
            return self.json(
                {
                    "checkpoints": checkpoint_report(cps, key=hmac_key, public_keys=keys),
                    "signed_by": key_ids(cps),
                    "trusted_keys": sorted(keys),
                }
            )

    @app.page("/v1/audit/export")
    class Export(web.View):
        async def get(self, request: web.Request) -> web.Response:
            try:
                await guard.check(request, "audit.read")
            except AuthFailure as exc:
                return guard.refuse(exc)
            try:
                start, end = seq_param(request, "from"), seq_param(request, "to")
            except ValueError as exc:
                return bad(self, str(exc).partition(":")[0], str(exc))
            try:
                entries, cps = await trail()
            except TrailUnavailable as exc:
                return unavailable(self, exc)
            now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            body, _ = export_bytes(entries, cps, topic=topic, start=start, end=end, exported_at=now)
            return self.bytes(
                body,
                content_type="application/x-ndjson",
                headers={"Content-Disposition": 'attachment; filename="riskmon-audit-export.jsonl"'},
            )
