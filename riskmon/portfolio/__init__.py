"""The portfolio: approval, overdue and default rates, score drift and exposure.

:mod:`.summaries` shapes decisions and repayments into the portfolio's events
(pure), :mod:`.watch` and :mod:`.exposure` are its detectors (pure), and
:mod:`.handler` is the single worker's shell that publishes its rates and
exposures to Redis.
"""
