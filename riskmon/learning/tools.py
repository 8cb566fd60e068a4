"""Operator actions on the model registry, for the command line."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException

from riskmon.fraud.status import fraud_status
from riskmon.fraud.store import model_key
from riskmon.learning.registry import ModelRegistry
from riskmon.pipeline.store import key_namespace
from riskmon.redis_clients import async_client
from riskmon.settings import Settings

__all__ = ["model_status", "model_history", "request_promotion"]


def _registry(settings: Settings) -> tuple[aioredis.Redis, ModelRegistry]:
    client = async_client(settings.redis_url, socket_connect_timeout=5, socket_timeout=5)
    namespace = key_namespace(settings.topic_prefix, settings.redis_url)
    return client, ModelRegistry(client, namespace=namespace, snapshot_ttl_seconds=1)


async def model_status(settings: Settings) -> dict[str, Any]:
    """The published role pointers and the latest evaluation; and the fraud models' (``fraud``)."""
    client, registry = _registry(settings)
    try:
        pointers = await registry.pointers()
        fraud = fraud_status(await client.get(model_key(key_namespace(settings.topic_prefix))))
        return {
            "roles": {
                role: {
                    "name": p.name,
                    "version": p.version,
                    "hash": p.hash,
                    "labels": p.n_learned,
                    "published_at": p.published_at,
                }
                for role, p in pointers.items()
            },
            "evaluation": await registry.evaluation(),
            "fraud": fraud,
        }
    except (RedisConnectionError, RedisClusterException) as exc:
        raise OSError(str(exc)) from exc
    finally:
        await client.aclose()


async def model_history(settings: Settings) -> list[dict[str, Any]]:
    client, registry = _registry(settings)
    try:
        return await registry.promotions()
    except (RedisConnectionError, RedisClusterException) as exc:
        raise OSError(str(exc)) from exc
    finally:
        await client.aclose()


async def request_promotion(settings: Settings, *, author: str, reason: str, wait: float) -> dict[str, Any]:
    """Ask the learner to promote, then wait until it recorded the promotion."""
    client, registry = _registry(settings)
    try:
        before = len(await registry.promotions())
        await registry.request_promotion(author=author, reason=reason)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            history = await registry.promotions()
            if len(history) > before:
                return history[-1]
            await asyncio.sleep(0.5)
        raise TimeoutError(
            f"no learner applied the promotion within {wait:g}s; it stays requested and is applied "
            "with the next batch of labels the learner sees"
        )
    except (RedisConnectionError, RedisClusterException) as exc:
        raise OSError(str(exc)) from exc
    finally:
        await client.aclose()
