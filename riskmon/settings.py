"""Runtime settings of a worker: where Kafka and Redis are, and how to talk to them.

Settings are read once, at start-up, from the environment and then from
command-line flags that override it (never at import time). They are frozen so
that no part of the worker can change them behind another's back. Thresholds
and policy live in the configuration file (:mod:`riskmon.config`), not here.

Environment variables:

``RISKMON_KAFKA_BOOTSTRAP``  Kafka bootstrap servers, ``host:port[,host:port]``
``RISKMON_REDIS_URL``        Redis URL, ``redis://[user:password@]host:port/db``
                             (``rediss://`` for TLS); a Redis Cluster as
                             ``redis+cluster://host:port`` (``rediss+cluster://``),
                             see ``riskmon.redis_clients``
``RISKMON_CONFIG``           path of the thresholds/policy/routing file
``RISKMON_SHADOW_CONFIG``    a second configuration evaluated beside it, recorded
                             on ``risk.shadow`` only (``riskmon.shadow.handler``)
``RISKMON_TOPIC_PREFIX``     prefix added to every topic name (default none)
``RISKMON_APP_ID``           Kafka consumer group and Faust app id (``riskmon``); a worker
                             of one role uses ``<app id>-<role>``
``RISKMON_ROLE``             which work this process takes (``all``, the default, or
                             ``decisions``, ``transactions``, ``background``;
                             :mod:`riskmon.runtime.routes`)
``RISKMON_SESSION_TIMEOUT_MS`` how long the group coordinator waits for a silent worker
                             before its partitions move to the others (``6000``, Kafka's
                             smallest by default; heartbeats go every third of it)
``RISKMON_PARTITIONS``       partitions of topics the worker creates (``3``)
``RISKMON_REPLICATION``      replication factor of topics it creates (``1``)
``RISKMON_WEB_PORT``         the worker's HTTP port (``6066``)
``RISKMON_MAX_MESSAGE_BYTES`` largest input message accepted (``262144``)
``RISKMON_DECISION_TTL_DAYS`` how long Redis remembers a decision (``400``)
``RISKMON_FETCH_MAX_WAIT_MS`` longest wait of one Kafka fetch on the broker, for
                             new records or the fetch minimum (``10``; Faust hard-codes 1500,
                             which holds back records that arrive meanwhile:
                             :mod:`riskmon.runtime.patches.fetch_wait`)
``RISKMON_BATCH_WINDOW_MS``  how often an input batch is taken under a steady
                             load (``20``); under a backlog, as soon as the last
                             one is handled (docs/operations.md)
``RISKMON_FETCH_MIN_BYTES``  bytes a fetch waits for, up to that wait (``65536``):
                             under live load fetches come every wait, not one per
                             record (:mod:`riskmon.runtime.patches.fetch_wait` says why)
``RISKMON_SECURITY_PROTOCOL`` ``PLAINTEXT`` (default), ``SSL``, ``SASL_SSL``;
                             ``SASL_PLAINTEXT`` is refused unless
                             ``RISKMON_ALLOW_INSECURE_SASL=1`` (never send
                             passwords in clear by default)
``RISKMON_SASL_MECHANISM``   ``SCRAM-SHA-512`` (default) or ``SCRAM-SHA-256``
``RISKMON_SASL_USERNAME`` / ``RISKMON_SASL_PASSWORD``
``RISKMON_SSL_CAFILE``       CA bundle that signs the brokers' certificates
``RISKMON_AUDIT``            ``1`` (default) keeps the audit trail; ``0`` only for benchmarks
``RISKMON_AUDIT_PSEUDONYM_KEY``   secret (>= 16 bytes) for applicants' keyed pseudonyms
``RISKMON_AUDIT_CHECKPOINT_KEY``  secret (>= 16 bytes) for the audit checkpoints' HMAC
                             (both default to a development key, with a warning:
                             set them in any real deployment)
``RISKMON_AUTH``             ``auto`` (default), ``on`` or ``off``: whether the web port asks
                             who the caller is (:mod:`riskmon.auth`). ``auto`` is on unless
                             ``RISKMON_WEB_HOST`` is a loopback address; ``off`` on any other
                             host is allowed but warned about at start
``RISKMON_METRICS_AUTH``     ``auto`` (default: as ``RISKMON_AUTH``), ``on`` or ``off``:
                             whether ``/metrics`` needs a token with the ``metrics`` role
                             (``/health`` never does: it says only ok or degraded)
``RISKMON_PROXY_IDENTITY_HEADER`` / ``RISKMON_PROXY_SECRET``  an authenticating proxy in
                             front of the worker: requests with that header and
                             ``X-Riskmon-Proxy-Secret`` equal to the secret (>= 16 bytes) are
                             the named identity (both or neither; :mod:`riskmon.auth.principal`)
``RISKMON_TOKEN``            the operator's token for ``riskmon ack``/``silence`` (the command line)
``RISKMON_HTTP_RATE``        requests a second each caller may make to ``POST /v1/applications``
                             (``50``; ``0`` is no limit); ``RISKMON_HTTP_BURST`` the burst (``100``)
``RISKMON_AUDIT_SIGNING_KEY_FILE``  Ed25519 private key (PEM, ``riskmon audit keygen``) that
                             signs the audit checkpoints; without it a development key signs,
                             with a warning
``RISKMON_AUDIT_PUBLIC_KEY_FILE``   the public key ``riskmon audit verify`` checks them with
                             (``--public-key`` overrides)
``RISKMON_TRACEMALLOC``      frames per allocation to trace (``0``, off); the
                             largest allocation sites are dumped every 30 s
                             (:mod:`riskmon.runtime.tuning.memory_probe`; diagnosis only)
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Literal

__all__ = ["Settings", "SettingsError", "is_loopback", "settings_from_env"]

#: Used when no audit key is configured: fine for a laptop, never for production.
DEV_AUDIT_KEY = "riskmon-development-key-not-for-production"

#: Longest fetch wait accepted: well under the consumer's request timeout, and far past any useful value.
MAX_FETCH_WAIT_MS = 30_000
#: Largest fetch minimum accepted: the broker's default ``fetch.max.bytes`` (a fetch never returns more).
MAX_FETCH_MIN_BYTES = 50 * 1024 * 1024

#: Work a worker process may take (:mod:`riskmon.runtime.routes` says which routes each holds).
ROLES = ("all", "decisions", "transactions", "background")
#: Bounds of the consumer session timeout: the broker's default ``group.min/max.session.timeout.ms``.
MIN_SESSION_TIMEOUT_MS, MAX_SESSION_TIMEOUT_MS = 6_000, 1_800_000

AuthMode = Literal["auto", "on", "off"]
SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT"]


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a worker needs to connect and run."""

    kafka_bootstrap: str = "127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    config_path: str | None = None
    shadow_config_path: str | None = None
    topic_prefix: str = ""
    app_id: str = "riskmon"
    role: str = "all"
    session_timeout_ms: int = MIN_SESSION_TIMEOUT_MS
    partitions: int = 3
    replication: int = 1
    web_port: int = 6066
    web_host: str = "127.0.0.1"
    max_message_bytes: int = 256 * 1024
    decision_ttl_days: int = 400
    fetch_max_wait_ms: int = 10
    fetch_min_bytes: int = 64 * 1024
    batch_window_ms: int = 20
    linger_ms: int = 2  # latency-critical routes: a batch closes this long after its first event
    event_loop: str = "uvloop"  # or "asyncio" (riskmon.runtime.tuning.event_loop)
    tracemalloc_frames: int = 0  # riskmon.runtime.tuning.memory_probe; 0 is off
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None
    allow_insecure_sasl: bool = False
    audit_enabled: bool = True
    notify_enabled: bool = True  # run the receivers' delivery threads (RISKMON_NOTIFY=0: another process delivers)
    audit_pseudonym_key: str = DEV_AUDIT_KEY
    audit_checkpoint_key: str = DEV_AUDIT_KEY
    audit_signing_key_file: str | None = None
    audit_public_key_file: str | None = None
    auth: AuthMode = "auto"
    metrics_auth: AuthMode = "auto"
    proxy_identity_header: str | None = None
    proxy_secret: str | None = None
    http_rate: float = 50.0
    http_burst: int = 100

    def __post_init__(self) -> None:
        if self.security_protocol not in ("PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT"):
            raise SettingsError(
                f"RISKMON_SECURITY_PROTOCOL must be PLAINTEXT, SSL or SASL_SSL, got {self.security_protocol!r}"
            )
        if self.security_protocol == "SASL_PLAINTEXT" and not self.allow_insecure_sasl:
            raise SettingsError(
                "RISKMON_SECURITY_PROTOCOL=SASL_PLAINTEXT sends credentials without TLS; "
                "use SASL_SSL, or set RISKMON_ALLOW_INSECURE_SASL=1 for a test cluster"
            )
        if self.security_protocol.startswith("SASL") and not (self.sasl_username and self.sasl_password):
            raise SettingsError("SASL needs RISKMON_SASL_USERNAME and RISKMON_SASL_PASSWORD")
        if self.sasl_mechanism not in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
            raise SettingsError(
                f"RISKMON_SASL_MECHANISM must be SCRAM-SHA-256 or SCRAM-SHA-512, got {self.sasl_mechanism!r}"
            )
        for name in ("partitions", "replication", "max_message_bytes", "decision_ttl_days"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("audit_pseudonym_key", "audit_checkpoint_key"):
            if len(getattr(self, name).encode()) < 16:
                raise SettingsError(f"RISKMON_{name.upper()} must be at least 16 bytes")
        if not 1 <= self.fetch_max_wait_ms <= MAX_FETCH_WAIT_MS:
            raise SettingsError(
                f"RISKMON_FETCH_MAX_WAIT_MS must be between 1 and {MAX_FETCH_WAIT_MS} ms "
                f"(0 would poll the broker in a busy loop), got {self.fetch_max_wait_ms}"
            )
        if not 1 <= self.fetch_min_bytes <= MAX_FETCH_MIN_BYTES:
            raise SettingsError(
                f"RISKMON_FETCH_MIN_BYTES must be between 1 and {MAX_FETCH_MIN_BYTES}, got {self.fetch_min_bytes}"
            )
        if not 1 <= self.batch_window_ms <= 1000:
            raise SettingsError(f"RISKMON_BATCH_WINDOW_MS must be between 1 and 1000 ms, got {self.batch_window_ms}")
        if not 0 <= self.linger_ms <= 1000:
            raise SettingsError(f"RISKMON_LINGER_MS must be between 0 and 1000 ms, got {self.linger_ms}")
        if not 0 <= self.tracemalloc_frames <= 100:
            raise SettingsError(f"RISKMON_TRACEMALLOC must be 0 (off) to 100 frames, got {self.tracemalloc_frames}")
        if self.event_loop not in ("uvloop", "asyncio"):
            raise SettingsError(f"RISKMON_EVENT_LOOP must be uvloop or asyncio, got {self.event_loop!r}")
        if not 0 <= self.web_port <= 65535:
            raise SettingsError(f"RISKMON_WEB_PORT must be a TCP port, got {self.web_port}")
        for name in ("auth", "metrics_auth"):
            if getattr(self, name) not in ("auto", "on", "off"):
                raise SettingsError(f"RISKMON_{name.upper()} must be auto, on or off, got {getattr(self, name)!r}")
        if bool(self.proxy_identity_header) != bool(self.proxy_secret):
            raise SettingsError(
                "RISKMON_PROXY_IDENTITY_HEADER and RISKMON_PROXY_SECRET go together: set both or neither"
            )
        if self.proxy_secret is not None and len(self.proxy_secret.encode()) < 16:
            raise SettingsError("RISKMON_PROXY_SECRET must be at least 16 bytes")
        if self.role not in ROLES:
            raise SettingsError(f"RISKMON_ROLE must be one of {', '.join(ROLES)}, got {self.role!r}")
        if not MIN_SESSION_TIMEOUT_MS <= self.session_timeout_ms <= MAX_SESSION_TIMEOUT_MS:
            raise SettingsError(
                f"RISKMON_SESSION_TIMEOUT_MS must be between {MIN_SESSION_TIMEOUT_MS} and {MAX_SESSION_TIMEOUT_MS} "
                f"(the broker's group.min/max.session.timeout.ms), got {self.session_timeout_ms}"
            )
        if self.http_rate < 0 or self.http_burst < 1:
            raise SettingsError(
                "RISKMON_HTTP_RATE must be >= 0 and RISKMON_HTTP_BURST >= 1, "
                f"got {self.http_rate} and {self.http_burst}"
            )

    @property
    def group_id(self) -> str:
        """The consumer group and Faust app id of this process: one group per role.

        >>> Settings().group_id, Settings(role="decisions").group_id
        ('riskmon', 'riskmon-decisions')
        """
        return self.app_id if self.role == "all" else f"{self.app_id}-{self.role}"

    @property
    def auth_enabled(self) -> bool:
        """Whether the web port asks who the caller is (``auto``: unless it listens on loopback only)."""
        return self.auth == "on" or (self.auth == "auto" and not is_loopback(self.web_host))

    @property
    def metrics_auth_enabled(self) -> bool:
        """Whether ``/metrics`` needs a token (``auto``: as the rest of the web port)."""
        return self.metrics_auth == "on" or (self.metrics_auth == "auto" and self.auth_enabled)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the non-None ``changes`` applied (command-line flags)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def topic(self, name: str) -> str:
        """The real name of a contract topic, with the configured prefix."""
        return f"{self.topic_prefix}{name}"

    def confluent_config(self) -> dict[str, str | int | float | bool]:
        """librdkafka settings for admin clients, producers and consumers."""
        conf: dict[str, str | int | float | bool] = {
            "bootstrap.servers": self.kafka_bootstrap,
            "security.protocol": self.security_protocol,
        }
        if self.security_protocol.startswith("SASL"):
            conf.update(
                {
                    "sasl.mechanisms": self.sasl_mechanism,
                    "sasl.username": self.sasl_username or "",
                    "sasl.password": self.sasl_password or "",
                }
            )
        if self.ssl_cafile:
            conf["ssl.ca.location"] = self.ssl_cafile
        return conf


#: Settings every riskmon producer shares. ``murmur2_random`` is the Java
#: client's and aiokafka's (Faust's) partitioner: librdkafka's default (CRC32)
#: would put the same key on a different partition than the HTTP API or the
#: worker's own outputs, and per-key ordering across paths would be lost.
PRODUCER_DEFAULTS: Mapping[str, object] = MappingProxyType(
    {"acks": "all", "enable.idempotence": True, "partitioner": "murmur2_random"}
)


def is_loopback(host: str) -> bool:
    """Whether a web host is reachable from this machine only (``localhost``, 127.0.0.0/8, ``::1``).

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0"), is_loopback("")
    (True, True, False, False)
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``env`` (default: the process environment).

    >>> settings_from_env({"RISKMON_TOPIC_PREFIX": "dev."}).topic("credit.decisions")
    'dev.credit.decisions'
    """
    env = os.environ if env is None else env
    d = Settings()
    return Settings(
        kafka_bootstrap=env.get("RISKMON_KAFKA_BOOTSTRAP") or d.kafka_bootstrap,
        redis_url=env.get("RISKMON_REDIS_URL") or d.redis_url,
        config_path=env.get("RISKMON_CONFIG") or None,
        shadow_config_path=env.get("RISKMON_SHADOW_CONFIG") or None,
        topic_prefix=env.get("RISKMON_TOPIC_PREFIX", ""),
        app_id=env.get("RISKMON_APP_ID") or d.app_id,
        role=(env.get("RISKMON_ROLE") or d.role).strip().lower(),
        session_timeout_ms=_int(env, "RISKMON_SESSION_TIMEOUT_MS", d.session_timeout_ms),
        partitions=_int(env, "RISKMON_PARTITIONS", d.partitions),
        replication=_int(env, "RISKMON_REPLICATION", d.replication),
        web_port=_int(env, "RISKMON_WEB_PORT", d.web_port),
        web_host=env.get("RISKMON_WEB_HOST") or d.web_host,
        max_message_bytes=_int(env, "RISKMON_MAX_MESSAGE_BYTES", d.max_message_bytes),
        decision_ttl_days=_int(env, "RISKMON_DECISION_TTL_DAYS", d.decision_ttl_days),
        fetch_max_wait_ms=_int(env, "RISKMON_FETCH_MAX_WAIT_MS", d.fetch_max_wait_ms),
        fetch_min_bytes=_int(env, "RISKMON_FETCH_MIN_BYTES", d.fetch_min_bytes),
        batch_window_ms=_int(env, "RISKMON_BATCH_WINDOW_MS", d.batch_window_ms),
        linger_ms=_int(env, "RISKMON_LINGER_MS", d.linger_ms),
        event_loop=(env.get("RISKMON_EVENT_LOOP") or d.event_loop).strip().lower(),
        tracemalloc_frames=_int(env, "RISKMON_TRACEMALLOC", d.tracemalloc_frames),
        security_protocol=(env.get("RISKMON_SECURITY_PROTOCOL") or d.security_protocol).upper(),  # type: ignore[arg-type]
        sasl_mechanism=env.get("RISKMON_SASL_MECHANISM") or d.sasl_mechanism,
        sasl_username=env.get("RISKMON_SASL_USERNAME") or None,
        sasl_password=env.get("RISKMON_SASL_PASSWORD") or None,
        ssl_cafile=env.get("RISKMON_SSL_CAFILE") or None,
        allow_insecure_sasl=env.get("RISKMON_ALLOW_INSECURE_SASL") == "1",
        audit_enabled=env.get("RISKMON_AUDIT", "1") != "0",
        notify_enabled=env.get("RISKMON_NOTIFY", "1") != "0",
        audit_pseudonym_key=env.get("RISKMON_AUDIT_PSEUDONYM_KEY") or DEV_AUDIT_KEY,
        audit_checkpoint_key=env.get("RISKMON_AUDIT_CHECKPOINT_KEY") or DEV_AUDIT_KEY,
        audit_signing_key_file=env.get("RISKMON_AUDIT_SIGNING_KEY_FILE") or None,
        audit_public_key_file=env.get("RISKMON_AUDIT_PUBLIC_KEY_FILE") or None,
        auth=(env.get("RISKMON_AUTH") or d.auth).strip().lower(),  # type: ignore[arg-type]
        metrics_auth=(env.get("RISKMON_METRICS_AUTH") or d.metrics_auth).strip().lower(),  # type: ignore[arg-type]
        proxy_identity_header=env.get("RISKMON_PROXY_IDENTITY_HEADER") or None,
        proxy_secret=env.get("RISKMON_PROXY_SECRET") or None,
        http_rate=_float(env, "RISKMON_HTTP_RATE", d.http_rate),
        http_burst=_int(env, "RISKMON_HTTP_BURST", d.http_burst),
    )
