"""What every input handler shares, below the stream runtime and free of it.

The consumed message and the send callable (:mod:`.messages`), the
never-raise batch handler with its dead letters (:mod:`.handler`), the
worker's Prometheus metrics (:mod:`.metrics`) and the Redis state store with
its degraded back-off (:mod:`.store`). Domain packages (applications,
transactions, learning, reviews, portfolio, alerting, audit, shadow) build
on these; :mod:`riskmon.runtime` feeds them from Kafka.
"""
