"""The ``riskmon`` command line: the worker, the stack, alerts, audit, models, ops tools, backtest."""

from riskmon.cli.commands import main

__all__ = ["main"]
