"""Backtest: replay a recorded stream offline through two configurations and compare them.

How the family is used: ``riskmon backtest --config NEW --data FILE`` reads a
recorded stream (:mod:`~riskmon.backtest.recorded`; ``riskmon backtest
record`` writes one from Kafka, ``riskmon backtest sample`` a labelled one
from public data), replays it through the current configuration and NEW
(:mod:`~riskmon.backtest.engine`: the live path's policy, scorer, learner,
detectors and alert manager, on event time, with no Kafka and no Redis), and
reports both side by side (:mod:`~riskmon.backtest.summary`,
:mod:`~riskmon.backtest.report`, :mod:`~riskmon.backtest.html`).
:class:`~riskmon.backtest.evaluator.Evaluator` is also what the worker's
shadow mode (:mod:`riskmon.shadow.handler`) runs live.
"""

# Nothing is imported here: ``riskmon --help`` builds this command's parser
# (riskmon.cli.backtest), and the replay's modules pull in River and Redis.
__all__: list[str] = []
