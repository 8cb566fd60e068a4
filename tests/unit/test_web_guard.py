"""The web port's door without a worker: cross-site and rebound requests refused, tokens looked up
behind a cache, the door closed when Redis cannot be asked, one rate bucket per caller."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from riskmon.auth.principal import AuthFailure
from riskmon.auth.roles import PERMISSIONS, ROLES
from riskmon.auth.store import tokens_key
from riskmon.auth.tokens import TokenRecord, new_token
from riskmon.runtime.web.guard import Guard, TooLarge, read_limited
from riskmon.settings import Settings


@dataclass
class Request:
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=lambda: {"Host": "127.0.0.1:6066"})
    remote: str = "127.0.0.1"


class Redis:
    def __init__(self, records: dict[str, bytes] | None = None, down: bool = False) -> None:
        self.records, self.down, self.asked = records or {}, down, 0

    async def hget(self, key: str, field: str) -> bytes | None:
        self.asked += 1
        if self.down:
            raise ConnectionError("redis down")
        assert key == tokens_key("riskmon")
        return self.records.get(field)


def guard(client: Redis, now: list[float] | None = None, **settings: Any) -> Guard:
    clock = now or [0.0]
    return Guard(Settings(**settings), client=client, namespace="riskmon", clock=lambda: clock[0], wall=lambda: 0.0)


def check(g: Guard, request: Request, permission: str = "alerts.act") -> Any:
    return asyncio.run(g.check(request, permission))


def test_auth_off_on_loopback_still_refuses_cross_site_and_rebound_requests() -> None:
    g = guard(Redis())
    assert not g.enabled
    assert check(g, Request("POST")).via == "none"
    assert check(g, Request("POST", {"Host": "localhost:6066", "Origin": "http://localhost:6066"})).via == "none"
    for headers in (
        {"Host": "127.0.0.1:6066", "Origin": "https://evil.example"},
        {"Host": "rebound.evil.example:6066"},
    ):
        with pytest.raises(AuthFailure) as refused:
            check(g, Request("POST", headers))
        assert refused.value.status == 403
    assert check(g, Request("GET", {"Host": "rebound.evil.example:6066"}), "console.view").via == "none"
    behind_proxy = {
        "Host": "worker:6066",
        "X-Forwarded-Host": "riskmon.bank.example",
        "Origin": "https://riskmon.bank.example",
    }
    assert check(guard(Redis(), web_host="0.0.0.0", auth="off"), Request("POST", behind_proxy)).via == "none"


def test_tokens_are_looked_up_once_per_cache_period_and_redis_down_closes_the_door() -> None:
    token, digest = new_token()
    rec = TokenRecord("abc", "ops-anna", ("operator",), 0.0)
    client, now = Redis({digest: rec.to_json()}), [0.0]
    g = guard(client, now, web_host="0.0.0.0")
    request = Request("POST", {"Host": "w:6066", "Authorization": f"Bearer {token}"})
    assert [check(g, request).identity for _ in range(3)] == ["ops-anna"] * 3 and client.asked == 1
    now[0] = 6.0
    check(g, request)
    assert client.asked == 2
    with pytest.raises(AuthFailure) as down:
        check(guard(Redis(down=True), web_host="0.0.0.0"), request)
    assert down.value.status == 503


def test_each_caller_has_its_own_rate_bucket() -> None:
    g = guard(Redis(), http_rate=1.0, http_burst=2)
    anonymous = asyncio.run(g.identify(Request()))
    assert [g.throttle(anonymous, Request(remote="10.0.0.1")) for _ in range(3)] == [0.0, 0.0, 1.0]
    assert g.throttle(anonymous, Request(remote="10.0.0.2")) == 0.0
    assert guard(Redis(), http_rate=0).throttle(anonymous, Request()) == 0.0


class Body:
    def __init__(self, data: bytes, declared: int | None) -> None:
        self.content_length, self._data = declared, data
        self.content = self

    async def read(self, n: int) -> bytes:
        chunk, self._data = self._data[:n], self._data[n:]
        return chunk


def test_bodies_over_the_limit_are_refused_declared_or_not() -> None:
    assert asyncio.run(read_limited(Body(b"x" * 100, 100), 100)) == b"x" * 100
    for declared in (101, None):
        with pytest.raises(TooLarge):
            asyncio.run(read_limited(Body(b"x" * 200_000, declared), 100))


def test_each_roles_token_is_let_through_or_refused_403_by_the_table() -> None:
    tokens, records = {}, {}
    for role in ROLES:
        token, digest = new_token()
        tokens[role] = token
        records[digest] = TokenRecord(digest[:12], f"{role}-1", (role,), 0.0).to_json()
    g = guard(Redis(records), web_host="0.0.0.0")
    for role, token in tokens.items():
        for permission in PERMISSIONS:
            for method in ("GET", "POST"):
                request = Request(method, {"Host": "w:6066", "Authorization": f"Bearer {token}"})
                if permission in ROLES[role]:
                    assert check(g, request, permission).identity == f"{role}-1"
                    continue
                with pytest.raises(AuthFailure) as refused:
                    check(g, request, permission)
                assert refused.value.status == 403, (role, permission)
                assert refused.value.message == f"{role}-1 may not do this: it needs {permission}"
    with pytest.raises(AuthFailure) as nobody:
        check(g, Request("GET", {"Host": "w:6066"}), "audit.read")
    assert nobody.value.status == 401
    answer = g.refuse(nobody.value)
    assert answer.status == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(answer.body)["error"] == {"type": "unauthenticated", "message": nobody.value.message}
    with pytest.raises(AuthFailure) as forbidden:
        check(g, Request("GET", {"Host": "w:6066", "Authorization": f"Bearer {tokens['viewer']}"}), "audit.read")
    assert json.loads(g.refuse(forbidden.value).body)["error"]["type"] == "forbidden"
