"""The worker's logging setup costs nothing below the chosen level."""

from __future__ import annotations

import logging

import faust

from riskmon.runtime.worker import faust_worker


def test_a_quiet_log_level_does_not_turn_debug_records_on() -> None:
    # Faust's spinner set the root logger to DEBUG at --loglevel warning, so every
    # debug call in aiokafka and Faust built a record (about 6% of the CPU).
    app = faust.App("logging-test", broker="kafka://127.0.0.1:1", web_enabled=False)
    worker = faust_worker(app, "warning")
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        root.handlers = [logging.NullHandler()]
        root.setLevel(logging.WARNING)
        worker.on_setup_root_logger(root, logging.WARNING)
        assert root.level == logging.WARNING
        assert not logging.getLogger("aiokafka").isEnabledFor(logging.DEBUG)
        assert len(root.handlers) == 1  # no spinner handler added
    finally:
        root.setLevel(saved[0])
        root.handlers = saved[1]
