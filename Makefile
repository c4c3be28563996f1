# Galaxy: services, contracts and the integration lab.
# `./run <target>` on a fresh machine (installs make itself); `make <target>` after.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REPORTS := reports
INVENTORY ?= inventory/local
PLAYBOOK := $(BIN)/ansible-playbook -i $(INVENTORY)
PYTEST := $(BIN)/pytest
# Extra pytest arguments of the pytest targets, e.g. `make state ARGS=-x`.
ARGS ?=
# `make check BOUNDARY="a b" K=expr`: galaxylab check's boundaries and -k (an unknown boundary is one line).
BOUNDARY ?=
K ?=
# A boundary is a suite package; `make check BOUNDARY=nosuch` stops with one line naming the known ones.
KNOWN_BOUNDARIES := $(sort $(patsubst tests/boundaries/%/__init__.py,%,$(wildcard tests/boundaries/*/__init__.py)))
UNKNOWN_BOUNDARIES := $(filter-out $(KNOWN_BOUNDARIES),$(BOUNDARY))
# Every ansible-playbook run of the tests (idempotence, heal, teardown) uses the same inventory.
export GALAXYLAB_PLAYBOOK_ARGS ?= -i $(INVENTORY)

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements/dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements/dev.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

.PHONY: venv
venv: $(STAMP) ## Create the virtualenv from the lock (exact versions, hashes)

.PHONY: lock
lock: ## Re-resolve requirements/*.lock from pyproject.toml (needs uv)
	uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --no-header -o requirements/runtime.lock
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes --no-header -o requirements/dev.lock

.PHONY: gen
gen: $(STAMP) ## Regenerate gRPC code from contracts/proto
	$(BIN)/python scripts/gen_proto.py

.PHONY: schema
schema: $(STAMP) ## Regenerate docs/manifest.schema.json from galaxylab.manifest
	$(BIN)/python -m galaxylab.manifest --schema > docs/manifest.schema.json

.PHONY: lint
lint: $(STAMP) ## ruff, mypy, import-linter, ansible-lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/ansible-lint -q playbooks roles

.PHONY: unit
unit: $(STAMP) ## In-process tests of services, contracts and lab programs
	$(PYTEST) tests/unit -n 2 --junitxml=$(REPORTS)/unit.xml $(ARGS)

.PHONY: up
up: $(STAMP) ## Provision the lab on the inventory's hosts (galaxylab up; default: localhost); output kept in reports/up.log
	$(BIN)/galaxylab up --inventory $(INVENTORY)

.PHONY: state
state: $(STAMP) ## testinfra checks of the provisioned hosts
	$(PYTEST) tests/lab -m lab_state -n 2 --junitxml=$(REPORTS)/state.xml $(ARGS)

.PHONY: check
check: $(STAMP) ## State checks + boundary suites (galaxylab check; all, or BOUNDARY=name [name...], K=expr) with a summary
	$(if $(UNKNOWN_BOUNDARIES),$(error unknown boundary $(UNKNOWN_BOUNDARIES) (known: $(KNOWN_BOUNDARIES))))
	$(BIN)/galaxylab check $(BOUNDARY) $(if $(K),-k "$(K)") --inventory $(INVENTORY) || { status=$$?; \
		sed -n '/= FAILURES =/,$$p' $(REPORTS)/latest/pytest.log | tail -n 400; exit $$status; }

.PHONY: fuzz
# The seed defaults to galaxylab.fuzz's fixed one (deterministic runs); FUZZ_SEED=<n> replays a run, FUZZ_SEED=random varies it.
FUZZ_SEED ?=
FUZZ_EXAMPLES ?= 8
fuzz: $(STAMP) ## schemathesis (all phases, with and without credentials) against each HTTP service and double of the running lab
	$(BIN)/python -m galaxylab.fuzz $(if $(FUZZ_SEED),--seed $(FUZZ_SEED)) --max-examples $(FUZZ_EXAMPLES) \
		--report-dir $(REPORTS)/fuzz $(ARGS)

.PHONY: audit
audit: $(STAMP) ## No secret in any output: a bring-up re-run at -vvvv, program logs, configs, reports, manifests (with a canary)
	mkdir -p $(REPORTS)
	$(PLAYBOOK) playbooks/up.yml -vvvv > $(REPORTS)/up-vvvv.log
	$(BIN)/galaxylab audit --log $(REPORTS)/up-vvvv.log

.PHONY: lifecycle
lifecycle: $(STAMP) ## Idempotence (changed=0) and healing of a stopped program
	$(PYTEST) tests/lab -m "lab_heal or lab_idempotence" --junitxml=$(REPORTS)/lifecycle.xml $(ARGS)

.PHONY: multihost
multihost: $(STAMP) ## inventory/example-multihost over SSH on network-namespace hosts: up, cross-host checks, down (root)
	$(PYTEST) tests/multihost -m multihost --junitxml=$(REPORTS)/multihost.xml $(ARGS)

.PHONY: down
down: $(STAMP) ## Tear the lab down
	$(PLAYBOOK) playbooks/down.yml

.PHONY: leaves-nothing
leaves-nothing: $(STAMP) ## Tear down, then prove no process, port or file of the lab is left
	$(PYTEST) tests/lab -m lab_teardown --junitxml=$(REPORTS)/teardown.xml $(ARGS)

.PHONY: lab
lab: up check ## Main job: venv, galaxylab up, galaxylab check (every boundary), leave it up

.PHONY: test
# Bring-up comes before the unit tests because it installs Debian's redis-server, which the
# harness's process-control tests drive; on a fresh machine they would otherwise skip. The
# state checks run after the suites: programs still running, no secret in logs after real traffic.
# The multi-host suite waits on SSH, network namespaces and partitions most of its time: the CLI's end-to-end
# test (an isolated lab of its own root, ports and state) runs beside it (output kept per target).
test: ## Everything CI runs: lint, up, unit, suites, live fuzzing, state, secret audit, idempotence + heal, multi-host and the CLI end to end, teardown + leaves-nothing
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory up unit check fuzz state audit lifecycle || { $(MAKE) --no-print-directory down; exit 1; }
	$(MAKE) --no-print-directory -j2 --output-sync=target multihost cli-e2e || { $(MAKE) --no-print-directory down; exit 1; }
	$(MAKE) --no-print-directory leaves-nothing

.PHONY: cli-e2e
cli-e2e: $(STAMP) ## The galaxylab CLI end to end on an isolated lab (its own root, ports and state; root)
	$(PYTEST) tests/cli -m cli_e2e --junitxml=$(REPORTS)/cli-e2e.xml $(ARGS)

.PHONY: bench
bench: $(STAMP) ## Benchmarks: bring-up, re-run, suites (median of 3), RSS
	$(BIN)/python bench/lab_bench.py --runs 3

.PHONY: bench-check
bench-check: $(STAMP) ## galaxylab check wall time per boundary, all serial vs parallel (lab up; BOUNDARY= to pick); reports/bench/
	$(BIN)/python bench/check_times.py $(BOUNDARY) --runs 3

.PHONY: bench-mail
bench-mail: $(STAMP) ## Mail on authsessionmail (lab up): deliveries/s, accept-to-arrival p50/p99, sink SMTP msg/s, RSS
	$(BIN)/python bench/mail_bench.py --count 2000 --concurrency 16

.PHONY: bench-notification
bench-notification: $(STAMP) ## Notification (lab up): intents/s to push and mail streams, push p50/p99, RSS
	$(BIN)/python bench/notification_bench.py --count 2000 --concurrency 16

.PHONY: bench-login
bench-login: $(STAMP) ## Login via the gateway (lab up): p50/p95/p99 at concurrency 1, 8, 32; 10,000 logins with RSS; reports/bench/
	$(BIN)/python bench/login_bench.py --runs 3

.PHONY: bench-scale
bench-scale: $(STAMP) ## Cold up, re-run, source change, teardown of an isolated copy of the lab at 10, 20, 40 boundaries (medians of 3), plotted
	mkdir -p $(REPORTS)
	for n in 10 20 40; do $(BIN)/python bench/lab_timing.py --boundaries $$n --runs 3 --out $(REPORTS)/bench-scale-$$n.json; done
	$(BIN)/python bench/plot_scale.py $(REPORTS)/bench-scale-10.json $(REPORTS)/bench-scale-20.json \
		$(REPORTS)/bench-scale-40.json --out $(REPORTS)/bench-scale.png
