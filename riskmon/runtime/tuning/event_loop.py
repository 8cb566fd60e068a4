"""Choose the worker's asyncio event loop: uvloop by default, the standard one on request.

Why: the worker is one event loop doing everything (consuming, deciding,
producing, Redis round trips), so the loop's own cost is paid on every event.
In py-spy profiles of the application drain, time spent in asyncio's own
Python code fell from 28.5% of the worker's main thread to 17% with uvloop;
drain throughput on this 2-core machine varied more from run to run than
between the two loops (docs/performance.md).
``RISKMON_EVENT_LOOP=asyncio`` goes back to the standard loop, to rule uvloop
out when debugging or where it does not install.
"""

from __future__ import annotations

import asyncio
import logging

__all__ = ["EVENT_LOOPS", "install_event_loop"]

log = logging.getLogger(__name__)

#: The values ``RISKMON_EVENT_LOOP`` accepts.
EVENT_LOOPS = ("uvloop", "asyncio")


def install_event_loop(name: str) -> str:
    """Make ``name`` the loop policy of this process; returns the loop in use.

    Call it before anything creates a loop (Faust's app and worker do on
    construction). When uvloop is asked for but cannot be imported (a platform
    without wheels), the worker still runs, on asyncio's loop, and says so.
    """
    if name not in EVENT_LOOPS:
        raise ValueError(f"unknown event loop {name!r}; expected one of {', '.join(EVENT_LOOPS)}")
    if name == "asyncio":
        asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
        return "asyncio"
    try:
        import uvloop
    except ImportError:
        log.warning("RISKMON_EVENT_LOOP=uvloop but uvloop is not installed; running on asyncio's loop")
        asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"
