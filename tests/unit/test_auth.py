"""Who may do what, without a broker: roles, tokens, a request's principal, rate limits, settings."""

from __future__ import annotations

import pytest

from riskmon.auth.principal import (
    AuthFailure,
    AuthPolicy,
    Principal,
    authorize,
    principal_from_record,
    read_credentials,
    resolve_name,
)
from riskmon.auth.ratelimit import RateLimiter
from riskmon.auth.roles import PERMISSIONS, ROLES, RoleError, allows, parse_roles
from riskmon.auth.store import TokenCache
from riskmon.auth.tokens import TokenError, TokenRecord, hash_token, looks_like_token, new_token
from riskmon.settings import Settings, SettingsError, settings_from_env

SECRET = "s" * 32
POLICY = AuthPolicy(enabled=True, proxy_identity_header="X-Forwarded-User", proxy_secret=SECRET)


def record(**changes: object) -> TokenRecord:
    base: dict = {"token_id": "abc123abc123", "identity": "ops-anna", "roles": ("operator",), "created_at": 0.0}
    return TokenRecord(**{**base, **changes})


#: Issue 23's table: viewer (console, alerts, decisions), operator (ack, silence, expire), submitter
#: (POST applications, and reading the decision it waits for), auditor (audit reads); and the extra roles.
EXPECTED_ROLES = {
    "viewer": {"console.view", "decisions.read"},
    "operator": {"console.view", "decisions.read", "alerts.act"},
    "submitter": {"applications.submit", "decisions.read"},
    "auditor": {"audit.read"},
    "pager": {"pager.acknowledge"},
    "metrics": {"metrics.scrape"},
    "admin": set(PERMISSIONS),
}


def test_the_role_table_is_the_one_the_issue_asks_for() -> None:
    assert {role: set(perms) for role, perms in ROLES.items()} == EXPECTED_ROLES
    assert set(PERMISSIONS) == {
        "console.view",
        "decisions.read",
        "alerts.act",
        "applications.submit",
        "audit.read",
        "pager.acknowledge",
        "metrics.scrape",
    }
    for role, granted in EXPECTED_ROLES.items():
        for permission in PERMISSIONS:
            assert allows((role,), permission) == (permission in granted), (role, permission)
    with pytest.raises(RoleError, match="unknown role service"):  # renamed to submitter; accepted nowhere
        parse_roles("service")


def test_every_role_grants_known_permissions_and_admin_grants_all() -> None:
    assert all(perms <= set(PERMISSIONS) for perms in ROLES.values())
    assert ROLES["admin"] == frozenset(PERMISSIONS)
    assert allows(("submitter",), "applications.submit") and not allows(("submitter",), "console.view")
    assert allows(("viewer", "submitter"), "applications.submit")  # roles add up
    assert not allows(("made-up",), "console.view")
    with pytest.raises(KeyError):
        allows(("admin",), "alerts.delete")  # a typo in a page must fail loudly
    with pytest.raises(RoleError, match="unknown role root"):
        parse_roles("operator,root")
    with pytest.raises(RoleError):
        parse_roles(" , ")


def test_tokens_are_random_shaped_and_only_their_hash_is_kept() -> None:
    a, ha = new_token()
    b, hb = new_token()
    assert a != b and ha != hb and looks_like_token(a) and hash_token(a) == ha
    assert a not in record().to_json().decode()
    assert not looks_like_token("rmk_short") and not looks_like_token("Bearer " + a)


def test_a_damaged_token_record_grants_nothing() -> None:
    for raw in (b"not json", b"{}", b'{"token_id": "x", "identity": "a b", "roles": ["viewer"], "created_at": 0}'):
        with pytest.raises(TokenError):
            TokenRecord.from_json(raw)
    with pytest.raises(TokenError):
        TokenRecord.from_json(record(roles=("viewer",)).to_json().replace(b"viewer", b"root"))


def test_credentials_from_a_bearer_token_or_a_proxy_with_its_secret() -> None:
    token, digest = new_token()
    assert read_credentials({"Authorization": f"Bearer {token}"}, POLICY).token_hash == digest
    with pytest.raises(AuthFailure) as no_secret:
        read_credentials({"X-Forwarded-User": "ops-anna", "X-Riskmon-Roles": "admin"}, POLICY)
    assert no_secret.value.status == 401
    with pytest.raises(AuthFailure):
        read_credentials({"X-Forwarded-User": "ops-anna", "X-Riskmon-Proxy-Secret": "s" * 31 + "t"}, POLICY)
    viewer = read_credentials({"x-forwarded-user": "ops-anna", "x-riskmon-proxy-secret": SECRET}, POLICY).principal
    assert viewer is not None and viewer.roles == ("viewer",) and viewer.via == "proxy"
    with pytest.raises(AuthFailure):  # the proxy header means nothing without a configured proxy
        read_credentials({"X-Forwarded-User": "ops-anna", "X-Riskmon-Proxy-Secret": SECRET}, AuthPolicy(enabled=True))
    for junk in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-token"):
        with pytest.raises(AuthFailure):
            read_credentials({"Authorization": junk}, POLICY)


def test_a_record_becomes_a_principal_unless_missing_or_expired() -> None:
    p = principal_from_record(record(expires_at=100.0), now=99.0)
    assert (p.identity, p.via, p.token_id) == ("ops-anna", "token", "abc123abc123")
    with pytest.raises(AuthFailure, match="expired"):
        principal_from_record(record(expires_at=100.0), now=100.0)
    with pytest.raises(AuthFailure, match="unknown or revoked"):
        principal_from_record(None, now=0.0)
    assert authorize(p, "alerts.act") is p
    with pytest.raises(AuthFailure) as denied:
        authorize(p, "applications.submit")
    assert denied.value.status == 403 and "applications.submit" in denied.value.message


def test_the_recorded_name_is_the_callers_own() -> None:
    p = Principal("ops-anna", ("operator",), "token", "abc")
    assert resolve_name(p, None, "by") == resolve_name(p, "", "by") == resolve_name(p, "ops-anna", "by") == "ops-anna"
    with pytest.raises(AuthFailure) as other:
        resolve_name(p, "ops-bob", "by")
    assert other.value.status == 403
    assert resolve_name(Principal.anonymous(), "ops-bob", "by") == "ops-bob"  # auth off: as typed, via none
    assert Principal.anonymous().audit_fields()["via"] == "none"


def test_token_buckets_refill_at_the_rate_and_answer_the_wait() -> None:
    now = [0.0]
    limits = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limits.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limits.take("a") == pytest.approx(0.5)
    assert limits.take("b") == 0.0, "one caller's bucket is its own"
    now[0] = 0.5
    assert limits.take("a") == 0.0 and limits.take("a") == pytest.approx(0.5)
    now[0] = 100.0
    limits.take("c")
    assert len(limits) == 1, "full buckets are forgotten"
    with pytest.raises(ValueError):
        RateLimiter(rate=0, burst=1, clock=lambda: 0.0)


def test_the_token_cache_remembers_hits_and_misses_for_a_while() -> None:
    now = [0.0]
    cache = TokenCache(ttl=5.0, clock=lambda: now[0])
    assert cache.get("h") == (False, None)
    cache.put("h", None)
    cache.put("g", record())
    assert cache.get("h") == (True, None) and cache.get("g") == (True, record())
    now[0] = 5.0
    assert cache.get("g") == (False, None), "a revocation takes effect once the entry is old"


@pytest.mark.parametrize(
    "host, mode, enabled",
    [
        ("127.0.0.1", "auto", False),
        ("::1", "auto", False),
        ("0.0.0.0", "auto", True),
        ("10.0.0.5", "auto", True),
        ("127.0.0.1", "on", True),
        ("0.0.0.0", "off", False),
    ],
)
def test_auth_is_on_unless_the_web_host_is_loopback(host: str, mode: str, enabled: bool) -> None:
    settings = settings_from_env({"RISKMON_WEB_HOST": host, "RISKMON_AUTH": mode})
    assert settings.auth_enabled is enabled
    assert settings.metrics_auth_enabled is enabled
    assert (
        settings_from_env(
            {"RISKMON_WEB_HOST": host, "RISKMON_AUTH": mode, "RISKMON_METRICS_AUTH": "off"}
        ).metrics_auth_enabled
        is False
    )


def test_auth_settings_are_checked() -> None:
    with pytest.raises(SettingsError, match="RISKMON_AUTH"):
        settings_from_env({"RISKMON_AUTH": "maybe"})
    with pytest.raises(SettingsError, match="go together"):
        Settings(proxy_identity_header="X-Forwarded-User")
    with pytest.raises(SettingsError, match="16 bytes"):
        Settings(proxy_identity_header="X-Forwarded-User", proxy_secret="short")
    with pytest.raises(SettingsError, match="RISKMON_HTTP_RATE"):
        settings_from_env({"RISKMON_HTTP_RATE": "fast"})
    assert settings_from_env({"RISKMON_HTTP_RATE": "0"}).http_rate == 0.0
