# The two commands a newcomer needs on a fresh Debian machine:
#   make demo   - bootstrap, then `riskmon demo` on real public credit data
#   make test   - bootstrap, then the whole test suite (starts its own Kafka and Redis),
#                 then the tests marked redis_cluster again on a three-master Redis Cluster
.PHONY: bootstrap demo test test-redis-cluster unit lint format

bootstrap:
	@bash scripts/bootstrap.sh

demo: bootstrap
	.venv/bin/riskmon demo

test: bootstrap
	.venv/bin/pytest
	$(MAKE) --no-print-directory test-redis-cluster

# the application, transaction and Redis outage tests on a Redis Cluster (riskmon stack up --redis-cluster)
test-redis-cluster: bootstrap
	RISKMON_TEST_REDIS_CLUSTER=1 .venv/bin/pytest -m redis_cluster

unit: bootstrap
	.venv/bin/pytest -m "not integration"

# ruff (lint and format check) and mypy, as CI runs them before the tests
lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

# rewrite the tree in the project's format and apply ruff's safe fixes
format: bootstrap
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .
