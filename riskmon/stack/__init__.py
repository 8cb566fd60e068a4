"""Local development stack: a real Apache Kafka (KRaft) and a real Redis on loopback.

Used by ``riskmon stack up|down``, ``riskmon demo`` and the integration tests::

    info = up(default_stack_dir(), progress=print)   # idempotent; waits until both serve
    os.environ["RISKMON_KAFKA_BOOTSTRAP"] = info.kafka_bootstrap
    ...
    down(info.dir)                                   # stops only what `up` started

Kafka comes from Maven Central into :func:`kafka_cache_dir` on the first run;
Redis is Debian's ``redis-server``. Ports are free loopback ports recorded in
``<dir>/stack.json`` and reused across restarts.
"""

from riskmon.stack.kafka import DEFAULT_KAFKA_VERSION
from riskmon.stack.manager import down, status, up
from riskmon.stack.state import StackError, StackInfo, default_stack_dir, kafka_cache_dir

__all__ = [
    "DEFAULT_KAFKA_VERSION",
    "StackError",
    "StackInfo",
    "default_stack_dir",
    "down",
    "kafka_cache_dir",
    "status",
    "up",
]
