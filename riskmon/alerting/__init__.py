"""Alerting: what happens to detector alerts between detection and the people paged.

Detectors produce candidates (:func:`riskmon.detectors.build_alert`); the
:class:`AlertManager` runs them, with operators' acknowledgements and
silences, through its stages (grading, dedup, inhibition, silences,
grouping, routing; see :mod:`riskmon.alerting.manager`) and returns an
:class:`Outcome`: alerts for the feed, notifications for receivers, the
reason of every decision. It is pure and takes the time as an argument; the
stream shell is :mod:`riskmon.alerting.handler`, the receivers'
delivery :mod:`riskmon.alerting.delivery`. See docs/alerting.md.
"""

from riskmon.alerting.config import AlertingConfig, AlertingConfigError, parse_alerting
from riskmon.alerting.manager import Acknowledge, AddSilence, AlertManager, ExpireSilence, Outcome
from riskmon.alerting.model import Notification, Reason
from riskmon.alerting.silences import Silence

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
