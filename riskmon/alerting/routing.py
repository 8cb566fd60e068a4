"""Routing: which receivers hear about a notification, by level and labels.

Routes (``alerting.routes``) are tried in order; the first that matches the
notification's highest-level alert wins, unless it says ``continue: true``,
in which case later routes are tried too. A trigger's receivers are
remembered on its group, so the acknowledgement and the resolution reach
exactly the receivers that got the trigger, even if the group's level fell
meanwhile. A notification no route matches reaches nobody (it is still on
the feed), and is counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from riskmon.alerting.config import Route
from riskmon.alerting.matchers import matches
from riskmon.alerting.model import Item, Notification
from riskmon.schemas import Alert
from riskmon.schemas.vocab import LEVELS

__all__ = ["RouteStage", "route"]


def route(routes: Sequence[Route], alert: Alert) -> tuple[str, ...]:
    """The receivers of ``alert``, in route order, without repeats.

    >>> from riskmon.detectors import build_alert
    >>> routes = [Route(receivers=("pager",), match={"level": ("critical",)}, continue_=True),
    ...           Route(receivers=("hook",), match={"level": ("warning", "critical")})]
    >>> a = build_alert(detector="d", subject={"kind": "portfolio", "id": "all"}, level="critical",
    ...                 status="firing", summary="s", started_at=0, updated_at=0, config_version="v")
    >>> route(routes, a)
    ('pager', 'hook')
    """
    out: list[str] = []
    for r in routes:
        if matches(r.match, alert):
            out += [name for name in r.receivers if name not in out]
            if not r.continue_:
                break
    return tuple(out)


def _head(n: Notification) -> Alert:
    alerts = [Alert.from_dict(a) for a in n.alerts]
    return max(alerts, key=lambda a: (a.status == "firing", LEVELS.index(a.level)))


class RouteStage:
    """Attach receivers to this batch's notifications (see module doc)."""

    def exec(self, ctx: Any, items: list[Item]) -> list[Item]:
        routed = ctx.notifications[: ctx.routed]
        for n in ctx.notifications[ctx.routed :]:
            group = ctx.groups.get(n.group_key)
            if n.action == "trigger":
                receivers = route(ctx.config.routes, _head(n))
                if group is not None:
                    ctx.groups[n.group_key] = replace(group, receivers=group.receivers | frozenset(receivers))
            else:
                receivers = tuple(sorted(group.receivers)) if group is not None else ()
                if n.action == "resolve" and group is not None:
                    ctx.groups[n.group_key] = replace(group, receivers=frozenset())
            routed.append(replace(n, receivers=receivers))
        ctx.notifications[:] = routed
        ctx.routed = len(routed)
        return items
