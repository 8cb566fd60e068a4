"""The application path: parse, score, decide, summarise.

:mod:`.decide` is the pure core (bytes to a contract decision, no I/O) that
the live handler (:mod:`.handler`) and the backtest both call;
:mod:`.scoring` scores a batch with the published champion model or the
scorecard.
"""
