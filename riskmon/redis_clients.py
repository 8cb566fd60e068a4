"""Every Redis client riskmon creates, single server or Redis Cluster, comes from here.

The URL says which: ``redis://host:port/db`` (``rediss://`` for TLS) is one
server; ``redis+cluster://host:port`` (``rediss+cluster://``) is a Redis
Cluster, reached through any one of its masters (the client discovers the
others and follows slot moves). One setting, ``RISKMON_REDIS_URL``, therefore
switches the worker, the CLI and the tools together; there is no second switch
to forget.

In cluster mode the client is redis-py's ``RedisCluster``: its pipelines send
each node its share of the commands (one round trip per node, in parallel) and
refuse a multi-key command, MULTI or Lua script whose keys span hash slots.
riskmon's keys are hash-tagged so that never happens (:mod:`riskmon.keyspace`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

__all__ = ["REDIS_ERRORS", "async_client", "cluster_url", "is_cluster_url", "server_url", "sync_client"]

#: What a Redis call raises when the server or cluster cannot serve it. (A
#: cluster that cannot be reached at all raises RedisClusterException, which is
#: not a RedisError.)
REDIS_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException, OSError)

_CLUSTER_SUFFIX = "+cluster"


def is_cluster_url(url: str) -> bool:
    """Whether ``url`` names a Redis Cluster.

    >>> is_cluster_url("redis+cluster://127.0.0.1:7000"), is_cluster_url("redis://127.0.0.1:6379/0")
    (True, False)
    """
    return urlsplit(url).scheme.lower().endswith(_CLUSTER_SUFFIX)


def server_url(url: str) -> str:
    """The plain ``redis://`` URL redis-py understands (a cluster has one database: the path is dropped).

    >>> server_url("redis+cluster://127.0.0.1:7000/0"), server_url("redis://h:1/2")
    ('redis://127.0.0.1:7000', 'redis://h:1/2')
    """
    parts = urlsplit(url)
    if not is_cluster_url(url):
        return url
    scheme = parts.scheme[: -len(_CLUSTER_SUFFIX)]
    if parts.path not in ("", "/", "/0"):
        raise ValueError(f"a Redis Cluster has only database 0; drop {parts.path!r} from the Redis URL")
    return urlunsplit((scheme, parts.netloc, "", parts.query, ""))


def cluster_url(host: str, port: int) -> str:
    """The URL of a cluster reached through one of its masters.

    >>> cluster_url("127.0.0.1", 7000)
    'redis+cluster://127.0.0.1:7000'
    """
    return f"redis{_CLUSTER_SUFFIX}://{host}:{port}"


def sync_client(url: str, **kwargs: Any) -> Any:
    """A blocking client (``redis.Redis`` or ``redis.cluster.RedisCluster``) for ``url``.

    A cluster client connects at once to learn the slot map: an unreachable
    cluster raises here (RedisClusterException), not at the first command.
    """
    if is_cluster_url(url):
        return RedisCluster.from_url(server_url(url), **kwargs)
    return redis.Redis.from_url(url, **kwargs)


def async_client(url: str, **kwargs: Any) -> Any:
    """An asyncio client (``redis.asyncio.Redis`` or ``redis.asyncio.cluster.RedisCluster``) for ``url``.

    Neither connects before its first command.
    """
    if is_cluster_url(url):
        return AsyncRedisCluster.from_url(server_url(url), **kwargs)
    return aioredis.Redis.from_url(url, **kwargs)
