# The two commands a newcomer needs on a fresh Debian machine:
#   make demo   - bootstrap, then `riskmon demo` on real public credit data
#   make test   - bootstrap, then the whole test suite (starts its own Kafka and Redis)
.PHONY: bootstrap demo test unit

bootstrap:
	@bash scripts/bootstrap.sh

demo: bootstrap
	.venv/bin/riskmon demo

test: bootstrap
	.venv/bin/pytest

unit: bootstrap
	.venv/bin/pytest -m "not integration"
