"""HTTP pages of alerting on the worker's web port: list alerts and silences, acknowledge, silence.

``GET /v1/alerts[?status=firing|resolved|all&level=...]`` lists the manager's
alerts (from Redis, where the manager saves them after every batch);
``POST /v1/alerts/{key}/ack`` (``{"by", "comment"}``), ``POST /v1/silences``
(``{"matcher", "duration", "author", "comment"}``), ``DELETE
/v1/silences/{id}?by=NAME`` and ``POST /v1/pager/acknowledge`` (a pager's
webhook) each send a command to the alert manager and answer 202 with it.

Who may (when auth is on, :mod:`riskmon.runtime.web.guard`): reading needs
``console.view``, acting ``alerts.act``, the pager webhook
``pager.acknowledge``. The name recorded on an acknowledgement, a silence or
an expiry is the caller's identity: ``by``/``author`` may repeat it or be
left out, never name someone else (403). With auth off they are required,
as before, and recorded as typed.

Every action is also an audit record (:mod:`riskmon.audit.operator`), sent
to ``risk.audit.pending`` before the command itself, with the same
``action_id``: if the record cannot be sent, the command is not sent either
(503).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from riskmon.alerting.commands import CommandError, ack_command, expire_command, pager_acknowledgement, silence_command
from riskmon.alerting.silences import Silence
from riskmon.audit.operator import new_action_id, operator_record
from riskmon.auth.principal import Principal, resolve_name
from riskmon.pipeline.messages import utcnow
from riskmon.runtime.web.errors import error_body
from riskmon.runtime.web.guard import AuthFailure, Guard
from riskmon.schemas.vocab import LEVELS

__all__ = ["register_alerts_api", "read_silences", "scan_alert_docs", "scan_alert_states", "alert_view"]

#: Alert states asked of Redis per HSCAN call by :func:`scan_alert_docs`.
SCAN_COUNT = 1000


def _states_key(namespace: str) -> str:
    """The hash the alert manager saves its states in (:class:`~riskmon.alerting.state_store.AlertStateStore`)."""
    return f"{namespace}:alerts:state"


async def scan_alert_states(
    client: Any, namespace: str, *, count: int = SCAN_COUNT
) -> AsyncIterator[list[dict[str, Any]]]:
    """The saved alert states, as stored (JSON objects), in chunks of about ``count``.

    Why not one HGETALL: the manager keeps one state per customer
    and alert kind for a week after it resolves, and one HGETALL with a
    dataclass per state is a peak of every state at once in memory, and work
    in one step of the event loop that grows with the number of saved alerts
    (6 MB of reply alone in a 400,000-event run). HSCAN returns a chunk per
    round trip (the loop runs between them). A state changed during the scan
    may be missed or seen twice. A value that is not a JSON object with an
    ``alert`` object is skipped.
    """
    cursor = 0
    while True:
        cursor, raw = await client.hscan(_states_key(namespace), cursor, count=count)
        docs = []
        for value in raw.values():
            try:
                doc = orjson.loads(value)
            except orjson.JSONDecodeError:
                continue
            if isinstance(doc, dict) and isinstance(doc.get("alert"), dict):
                docs.append(doc)
        yield docs
        if not cursor:
            return


async def scan_alert_docs(
    client: Any, namespace: str, *, count: int = SCAN_COUNT
) -> AsyncIterator[list[dict[str, Any]]]:
    """The saved alerts (each state's ``alert`` as stored), in chunks of about ``count``.

    The console reconciles against every saved alert each minute on every
    worker and needs only the alert's own fields (see :func:`scan_alert_states`);
    its next reconcile, or the feed, brings a state the scan missed.
    """
    async for states in scan_alert_states(client, namespace, count=count):
        yield [state["alert"] for state in states]


def alert_view(state: dict[str, Any]) -> dict[str, Any]:
    """What ``GET /v1/alerts`` shows of a stored state: the alert and whether it was notified."""
    return {**state["alert"], "notified": bool(state.get("notified", False))}


async def read_silences(client: Any, namespace: str) -> list[Silence]:
    raw = await client.hgetall(f"{namespace}:alerts:silences")
    return sorted((Silence.from_dict(orjson.loads(v)) for v in raw.values()), key=lambda s: s.created_at)


def register_alerts_api(
    app: Any, *, commands_topic: Any, audit_topic: Any | None, client: Any, namespace: str, guard: Guard
) -> None:
    """Add the alerting pages to a Faust app; commands go to ``commands_topic``, their records to ``audit_topic``."""
    from faust import web

    async def send(doc: dict[str, Any], key: str) -> None:
        await (await commands_topic.send(key=key.encode(), value=orjson.dumps(doc)))

    async def act(
        view: Any, caller: Principal, action: str, command: dict[str, Any], key: str, target: dict[str, Any]
    ) -> Any:
        """Record the action on the audit trail, then send it; 202, or 503 if either could not be sent."""
        command["action_id"] = new_action_id()
        by = str(command.get("by") or command.get("silence", {}).get("author") or "")
        try:
            if audit_topic is not None:
                record = operator_record(
                    action=action,
                    principal=caller.audit_fields(),
                    by=by,
                    target=target,
                    channel="http",
                    at=utcnow(),
                    comment=str(command.get("comment") or command.get("silence", {}).get("comment") or ""),
                    action_id=command["action_id"],
                )
                await (await audit_topic.send(key=None, value=orjson.dumps({"records": [record]})))
            await send(command, key)
        except Exception as exc:
            return view.json(
                error_body("unavailable", f"not sent ({type(exc).__name__}); try again"),
                status=503,
            )
        return view.json({"accepted": command}, status=202)

    async def body_of(request: web.Request) -> dict[str, Any]:
        try:
            doc = orjson.loads(await request.read() or b"{}")
        except orjson.JSONDecodeError:
            raise CommandError("the body must be a JSON object") from None
        if not isinstance(doc, dict):
            raise CommandError("the body must be a JSON object")
        return doc

    def bad(view: Any, exc: Exception) -> Any:
        return view.json(error_body("invalid_command", str(exc)), status=400)

    @app.page("/v1/alerts")
    class Alerts(web.View):
        async def get(self, request: web.Request) -> web.Response:
            try:
                await guard.check(request, "console.view")
            except AuthFailure as exc:
                return guard.refuse(exc)
            status = request.query.get("status", "firing")
            level = request.query.get("level")
            out = []
            try:
                async for chunk in scan_alert_states(client, namespace):
                    out += [
                        alert_view(s)
                        for s in chunk
                        if s["alert"].get("level") in LEVELS
                        and (status == "all" or s["alert"].get("status") == status)
                        and (level is None or s["alert"].get("level") == level)
                    ]
            except Exception as exc:
                return self.json(error_body("unavailable", f"alert state unavailable: {exc}"), status=503)
            out.sort(key=lambda a: (-LEVELS.index(a["level"]), a["updated_at"]), reverse=False)
            return self.json({"alerts": out})

    @app.page("/v1/alerts/{key}/ack")
    class Acknowledge(web.View):
        async def post(self, request: web.Request, key: str) -> web.Response:
            try:
                caller = await guard.check(request, "alerts.act")
                doc = await body_of(request)
                by = resolve_name(caller, doc.get("by"), "by")
                command = ack_command(key, by=by, comment=str(doc.get("comment", "")), at=time.time())
            except AuthFailure as exc:
                return guard.refuse(exc)
            except CommandError as exc:
                return bad(self, exc)
            return await act(self, caller, "ack", command, key, {"dedup_key": key})

    @app.page("/v1/silences")
    class Silences(web.View):
        async def get(self, request: web.Request) -> web.Response:
            try:
                await guard.check(request, "console.view")
            except AuthFailure as exc:
                return guard.refuse(exc)
            try:
                silences = await read_silences(client, namespace)
            except Exception as exc:
                return self.json(error_body("unavailable", f"silences unavailable: {exc}"), status=503)
            now = time.time()
            return self.json({"silences": [{**s.to_dict(), "active": s.active(now)} for s in silences]})

        async def post(self, request: web.Request) -> web.Response:
            try:
                caller = await guard.check(request, "alerts.act")
                doc = await body_of(request)
                command = silence_command(
                    str(doc.get("matcher", "")),
                    duration=doc.get("duration", ""),
                    author=resolve_name(caller, doc.get("author"), "author"),
                    comment=str(doc.get("comment", "")),
                    now=time.time(),
                )
            except AuthFailure as exc:
                return guard.refuse(exc)
            except CommandError as exc:
                return bad(self, exc)
            silence = command["silence"]
            target = {"silence_id": silence["id"], "matcher": silence["matcher"], "ends_at": silence["ends_at"]}
            return await act(self, caller, "silence", command, silence["id"], target)

    @app.page("/v1/silences/{silence_id}")
    class Silence_(web.View):
        async def delete(self, request: web.Request, silence_id: str) -> web.Response:
            try:
                caller = await guard.check(request, "alerts.act")
                by = resolve_name(caller, request.query.get("by"), "by")
                command = expire_command(silence_id, by=by, at=time.time())
            except AuthFailure as exc:
                return guard.refuse(exc)
            except CommandError as exc:
                return bad(self, exc)
            return await act(self, caller, "expire_silence", command, silence_id, {"silence_id": silence_id})

    @app.page("/v1/pager/acknowledge")
    class PagerAck(web.View):
        async def post(self, request: web.Request) -> web.Response:
            try:
                caller = await guard.check(request, "pager.acknowledge")
                command = pager_acknowledgement(await body_of(request), at=time.time())
            except AuthFailure as exc:
                return guard.refuse(exc)
            except CommandError as exc:
                return bad(self, exc)
            if command is None:
                return self.json({"ignored": "not an acknowledgement"}, status=200)
            key = command["dedup_key"]
            return await act(self, caller, "pager_ack", command, key, {"dedup_key": key})

    @app.page("/v1/whoami")
    class WhoAmI(web.View):
        async def get(self, request: web.Request) -> web.Response:
            """Who the caller is and what it may do; the console signs in with it."""
            try:
                caller = await guard.identify(request)
            except AuthFailure as exc:
                return guard.refuse(exc)
            from riskmon.auth.roles import PERMISSIONS

            return self.json(
                {
                    "auth": guard.enabled,
                    "identity": caller.identity or None,
                    "via": caller.via,
                    "roles": list(caller.roles) if caller.authenticated else [],
                    "permissions": [p for p in PERMISSIONS if caller.may(p)],
                }
            )
