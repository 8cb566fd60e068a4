"""The transaction path: per-customer velocity and cash-out, and transaction anomalies.

:mod:`.watch` holds the detectors one customer (and the worker) is watched
with, :mod:`.core` the step the live handler and the backtest share, and
:mod:`.handler` the shell that loads and saves customer state in Redis.
"""
