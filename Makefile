# The two commands: `make run` (the API on :8080 over a local Neo4j with the demo network)
# and `make test` (the whole suite against a real Neo4j).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8080
NEO4J_PORT ?= 7687
CHROMIUM := /usr/bin/chromium

.PHONY: run test fuzz install openapi clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests drive: Chromium for the explorer's browser test (Playwright with
# executable_path; no browser download) and redis-server for rate limits shared across workers.
# Installed once, non-interactively, only when missing; as root, else through sudo -n.
SYSTEM_TOOLS := $(CHROMIUM) /usr/bin/redis-server

$(SYSTEM_TOOLS):
	@echo "installing chromium and redis-server for the tests (apt-get)"
	@SUDO=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -q </dev/null && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium redis-server </dev/null

# Neo4j: $NEO4J_URI when set, else the local launcher (built by Maven on first use).
# The admin key: $NETWEAVE_ADMIN_KEY when set, else one generated once into .netweave/admin-key.
run: install
	@set -e; umask 077; mkdir -p .netweave; \
	if [ -z "$$NEO4J_URI" ]; then \
	  NEO4J_URI=$$($(BIN)/netweave neo4j start --port $(NEO4J_PORT) | tail -n 1); export NEO4J_URI; \
	fi; \
	if [ -z "$$NETWEAVE_ADMIN_KEY" ]; then \
	  [ -s .netweave/admin-key ] || $(BIN)/python -c "import secrets; print('nw_admin_' + secrets.token_urlsafe(24))" > .netweave/admin-key; \
	  NETWEAVE_ADMIN_KEY=$$(cat .netweave/admin-key); export NETWEAVE_ADMIN_KEY; \
	fi; \
	$(BIN)/netweave seed --demo --if-empty; \
	echo "netweave on http://127.0.0.1:$(PORT)  (Neo4j at $$NEO4J_URI)"; \
	echo "admin key: $$NETWEAVE_ADMIN_KEY"; \
	echo "try: curl -H 'Authorization: Bearer $$NETWEAVE_ADMIN_KEY' http://127.0.0.1:$(PORT)/v1/members"; \
	exec $(BIN)/netweave serve --port $(PORT)

test: install $(SYSTEM_TOOLS)
	$(BIN)/pytest

# The long hostile-input run (tests/contract/test_hostile_fuzz.py) for a scheduled or manual job: new random
# cases each time. FUZZ_EXAMPLES sets how many per operation.
FUZZ_EXAMPLES ?= 500
fuzz: install
	NETWEAVE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) NETWEAVE_FUZZ_SEED=random $(BIN)/pytest -q tests/contract/test_hostile_fuzz.py

openapi: install
	$(BIN)/netweave openapi -o openapi.yaml

clean:
	-$(BIN)/netweave neo4j stop
	rm -rf $(VENV) .netweave tools/neo4j-local/target
