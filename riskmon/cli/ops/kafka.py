"""Broker look-ups shared by ``tail`` and ``replay``, with errors a user can act on.

Why check that a topic exists before using it: the development broker (and
many others) creates a topic on first use, with default partitions and
settings; a replay or tail with a mistyped prefix would silently create
``credit.aplications`` instead of telling the operator.
"""

from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from riskmon.cli.ops.errors import OpsError

__all__ = ["existing_topics", "require_topic"]


def existing_topics(config: dict[str, str | int | float | bool], timeout: float = 10.0) -> set[str]:
    """Names of the topics on the cluster; :class:`OpsError` when it cannot be reached."""
    try:
        # log_level 0: an unreachable broker is reported once, below, not as librdkafka's retry log
        metadata = AdminClient({**config, "log_level": 0}).list_topics(timeout=timeout)
    except KafkaException as exc:
        raise OpsError(
            f"cannot reach Kafka at {config.get('bootstrap.servers')}: {exc.args[0].str() if exc.args else exc}"
        ) from None
    return {name for name, topic in metadata.topics.items() if topic.error is None}


def require_topic(topic: str, topics: set[str]) -> None:
    """:class:`OpsError` naming ``topic`` if it is not in ``topics``.

    >>> require_topic("dev.credit.decisions", {"credit.decisions"})
    Traceback (most recent call last):
    ...
    riskmon.cli.ops.errors.OpsError: topic dev.credit.decisions does not exist (check --topic-prefix /
      RISKMON_TOPIC_PREFIX; a worker creates the contract topics when it starts)
    """
    if topic not in topics:
        raise OpsError(
            f"topic {topic} does not exist (check --topic-prefix / RISKMON_TOPIC_PREFIX; "
            "a worker creates the contract topics when it starts)"
        )
