# collectpulse: the few verbs a human needs. `make help` lists them.
.DEFAULT_GOAL := help
VENV := .venv/bin

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

bootstrap: ## install redis-server, the Kafka jars and .venv (idempotent)
	@scripts/bootstrap

run: bootstrap ## local Kafka + Redis + worker + exporter + gateway + simulator (SCENARIO=name); Ctrl-C stops all
	$(VENV)/collectpulse run $(if $(SCENARIO),--scenario $(SCENARIO))

lint: bootstrap ## ruff (lint + format check) and mypy --strict on src/
	$(VENV)/ruff check src tests bench
	$(VENV)/ruff format --check src tests bench
	$(VENV)/mypy

test: lint ## everything CI runs: lint, then all tests against real Kafka and Redis
	$(VENV)/pytest -q -p no:cacheprovider --durations=30

# Quix Streams pins pydantic<2.14: the bench gets a virtualenv of its own, so .venv (what
# the tests run with) keeps the project's own pins.
bench: bootstrap ## collectpulse beside bare consumers and same-job peers (QUICK=1: 200k); writes docs/bench/
	[ -x .venv-bench/bin/python ] || $(VENV)/python -m venv .venv-bench
	.venv-bench/bin/pip install -q --disable-pip-version-check -e '.[bench]'
	.venv-bench/bin/python bench/peers.py $(if $(QUICK),--quick)

faults: bootstrap ## long fault-injection run (kill -9 workers, Redis, Kafka; ~15 min; prints a report)
	scripts/faults --long

stop: ## stop the local Kafka and Redis if they are still running
	$(VENV)/collectpulse local stop

reset: ## stop the local stack and wipe its data (Kafka, Redis, worker state, logs)
	$(VENV)/collectpulse local reset

.PHONY: help bootstrap run lint test bench faults stop reset
