"""Alerting: what happens to detector alerts between detection and the people paged.

Detectors produce candidates (:func:`riskmon.detectors.build_alert`); the
:class:`AlertManager` runs them, with operators' acknowledgements and
silences, through its stages (grading, dedup, inhibition, silences,
grouping, routing; see :mod:`riskmon.alerts.manager`) and returns an
:class:`Outcome`: alerts for the feed, notifications for receivers, the
reason of every decision. It is pure and takes the time as an argument; the
stream shell is :mod:`riskmon.stream.alert_manager`, the receivers'
delivery :mod:`riskmon.alerts.delivery`. See docs/alerting.md.
"""

from riskmon.alerts.config import AlertingConfig, AlertingConfigError, parse_alerting
from riskmon.alerts.manager import Acknowledge, AddSilence, AlertManager, ExpireSilence, Outcome
from riskmon.alerts.model import Notification, Reason
from riskmon.alerts.silences import Silence

__all__ = [
    "Acknowledge",
    "AddSilence",
    "AlertManager",
    "AlertingConfig",
    "AlertingConfigError",
    "ExpireSilence",
    "Notification",
    "Outcome",
    "Reason",
    "Silence",
    "parse_alerting",
]
