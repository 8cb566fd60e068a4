"""Operator tools behind ``riskmon tail`` and ``riskmon replay``.

``tail`` follows ``risk.alerts``, ``credit.decisions`` or ``risk.deadletter``
and prints one readable line per event; ``replay`` produces a recorded file of events
(JSON lines or CSV) back onto the topics, paced by a rate or by the recorded
timestamps. The pure parts (rendering, filters, parsing, pacing, progress)
live in their own modules and are tested without a broker; ``tail.py`` and
``replay.py`` are the thin I/O shells around them.
"""

from riskmon.cli.ops.render import render_alert, render_decision, use_color
from riskmon.schemas.event_files import KINDS, BadLine, EventKind, infer_kind, read_events

__all__ = [
    "KINDS",
    "BadLine",
    "EventKind",
    "infer_kind",
    "read_events",
    "render_alert",
    "render_decision",
    "use_color",
]
