"""Start a worker: validate configuration, create topics, run the Faust app.

Everything that can be wrong with the set-up (a bad configuration file, an
unreachable broker) is reported before the worker subscribes, with a message
that says what to fix, instead of a stack trace from deep inside Faust.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from riskmon.config import RiskConfig, load_config
from riskmon.runtime.topics import ensure_topics
from riskmon.settings import Settings

__all__ = ["run_worker", "faust_worker", "WorkerStartError"]

log = logging.getLogger(__name__)


class WorkerStartError(RuntimeError):
    """The worker cannot start; the message says why and what to do."""


def prepare(settings: Settings) -> RiskConfig:
    """Load the configuration and make sure every contract topic exists."""
    config = load_config(settings.config_path)
    try:
        created = ensure_topics(settings)
    except Exception as exc:
        raise WorkerStartError(
            f"cannot reach Kafka at {settings.kafka_bootstrap} ({exc}); "
            "start a local one with `riskmon stack up` or set RISKMON_KAFKA_BOOTSTRAP"
        ) from exc
    if created:
        log.info("created topics: %s", ", ".join(created))
    return config


def faust_worker(app: Any, loglevel: str) -> Any:
    """Faust's Worker for ``app``, without its terminal spinner.

    Why: at ``--loglevel warning`` or above Faust animates a spinner on every
    log record, so it sets the root logger to DEBUG and every debug call in
    aiokafka and Faust builds a record: about 6% of the worker's CPU in a
    profile of the application path, spent on a spinner nobody sees in a log file.
    """
    from faust.worker import Worker

    worker = Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    worker.spinner = None
    return worker


def _warn_about_defaults(settings: Settings) -> None:
    """Say at start what makes this worker fit for a laptop only."""
    from riskmon.settings import DEV_AUDIT_KEY, is_loopback

    if settings.audit_pseudonym_key == DEV_AUDIT_KEY:
        log.warning("the audit pseudonym key is the development default: set RISKMON_AUDIT_PSEUDONYM_KEY")
    if settings.audit_enabled and settings.audit_signing_key_file is None:
        log.warning(
            "audit checkpoints are signed with the public development key, which proves nothing: "
            "make a key with `riskmon audit keygen` and set RISKMON_AUDIT_SIGNING_KEY_FILE"
        )
    if settings.web_port > 0 and not settings.auth_enabled and not is_loopback(settings.web_host):
        log.warning(
            "RISKMON_AUTH=off on %s: anyone who reaches port %d may submit applications and act on alerts",
            settings.web_host or "every interface",
            settings.web_port,
        )
    if settings.web_port > 0 and settings.auth_enabled and not settings.metrics_auth_enabled:
        log.info("/metrics is open (RISKMON_METRICS_AUTH=off); everything else on the web port asks for a token")


def _limit_repeated_lines() -> None:
    """At most a few lines a kind per 10 s from the Kafka client (:mod:`riskmon.runtime.log_limits`).

    The client's modules are imported first: their loggers exist only once they are.
    """
    import aiokafka.client  # noqa: F401
    import aiokafka.consumer.fetcher  # noqa: F401
    import aiokafka.consumer.group_coordinator  # noqa: F401
    import aiokafka.producer.sender  # noqa: F401
    import faust.transport.drivers.aiokafka  # noqa: F401

    from riskmon.runtime.log_limits import RepeatLimiter, limit_repeats

    limit_repeats(RepeatLimiter(burst=5, interval=10.0))


def run_worker(settings: Settings, *, loglevel: str = "info") -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code."""
    from riskmon.runtime.app import create_app
    from riskmon.runtime.tuning.event_loop import install_event_loop
    from riskmon.runtime.tuning.malloc import pin_mmap_threshold
    from riskmon.runtime.tuning.memory_probe import install_memory_probe

    config = prepare(settings)
    loop = install_event_loop(settings.event_loop)  # before Faust creates its loop
    pin_mmap_threshold()  # before the large buffers come and go
    probe = install_memory_probe(settings.tracemalloc_frames)
    if probe is not None:
        print(
            f"riskmon worker: tracemalloc on (diagnosis only, slower): dumps go to {probe}", file=sys.stderr, flush=True
        )
    _warn_about_defaults(settings)
    app = create_app(settings, config)
    _limit_repeated_lines()
    print(
        f"riskmon worker: role={settings.role} group={settings.group_id} "
        f"kafka={settings.kafka_bootstrap} topics prefix={settings.topic_prefix!r} "
        f"policy={config.policy_version} config={config.source} loop={loop}",
        file=sys.stderr,
        flush=True,
    )
    worker = faust_worker(app, loglevel)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
