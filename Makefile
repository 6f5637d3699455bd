# The two commands: `make run` (the API on :8080 and an analytics worker, over a local Neo4j with the demo
# network)
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

# Debian packages: redis-server holds the analytics job queue (`make run` and the tests) and the rate-limit
# counts shared across workers; Chromium drives the explorer's browser test (Playwright with
# executable_path; no browser download); curl and jq run the README's tour as printed
# (tests/test_readme_tour.py). Installed once, non-interactively, only when missing; as root, else through
# sudo -n.
REDIS_SERVER := /usr/bin/redis-server
TOUR_TOOLS := /usr/bin/curl /usr/bin/jq
SYSTEM_TOOLS := $(CHROMIUM) $(REDIS_SERVER) $(TOUR_TOOLS)

$(CHROMIUM):
	@echo "installing chromium for the explorer's browser test (apt-get)"
	@SUDO=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -q </dev/null && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium </dev/null

$(REDIS_SERVER):
	@echo "installing redis-server for the analytics job queue (apt-get)"
	@SUDO=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -q </dev/null && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q redis-server </dev/null

$(TOUR_TOOLS):
	@echo "installing $(notdir $@) for the README tour's test (apt-get)"
	@SUDO=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -q </dev/null && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $(notdir $@) </dev/null

# Neo4j: $NEO4J_URI when set, else the local launcher (built by Maven on first use).
# The analytics job queue: $NETWEAVE_QUEUE_URL when set, else a redis-server of its own on REDIS_PORT
# (no persistence: a lost job is asked for again by the next GET). One analytics worker runs beside the API.
# The admin key: $NETWEAVE_ADMIN_KEY when set, else one generated once into .netweave/admin-key; the key
# sealing webhook secrets likewise ($NETWEAVE_WEBHOOK_KEY, else .netweave/webhook-key).
# Ctrl-C stops the API, the worker and then that redis-server (`netweave neo4j stop` stops Neo4j): redis runs
# in a session of its own, so the terminal's Ctrl-C reaches it only through the trap, once the worker has
# finished (a worker that lost its queue first logged connection errors while it stopped).
REDIS_PORT ?= 6390
run: install $(REDIS_SERVER)
	@set -e; umask 077; mkdir -p .netweave; \
	if [ -z "$$NEO4J_URI" ]; then \
	  NEO4J_URI=$$($(BIN)/netweave neo4j start --port $(NEO4J_PORT) | tail -n 1); export NEO4J_URI; \
	fi; \
	if [ -z "$$NETWEAVE_ADMIN_KEY" ]; then \
	  [ -s .netweave/admin-key ] || $(BIN)/python -c "import secrets; print('nw_admin_' + secrets.token_urlsafe(24))" > .netweave/admin-key; \
	  NETWEAVE_ADMIN_KEY=$$(cat .netweave/admin-key); export NETWEAVE_ADMIN_KEY; \
	fi; \
	if [ -z "$$NETWEAVE_WEBHOOK_KEY" ]; then \
	  [ -s .netweave/webhook-key ] || $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(32))" > .netweave/webhook-key; \
	  NETWEAVE_WEBHOOK_KEY=$$(cat .netweave/webhook-key); export NETWEAVE_WEBHOOK_KEY; \
	fi; \
	worker=""; redis=""; \
	trap 'for pid in $$worker $$redis; do kill $$pid 2>/dev/null || true; wait $$pid 2>/dev/null || true; done; \
	      worker=""; redis=""' EXIT INT TERM; \
	if [ -z "$$NETWEAVE_QUEUE_URL" ]; then \
	  $(BIN)/python -c 'import os, sys; os.setsid(); os.execvp(sys.argv[1], sys.argv[1:])' \
	    $(REDIS_SERVER) --port $(REDIS_PORT) --bind 127.0.0.1 --save "" --appendonly no --dir .netweave \
	    --loglevel warning & redis=$$!; \
	  NETWEAVE_QUEUE_URL=redis://127.0.0.1:$(REDIS_PORT)/0; export NETWEAVE_QUEUE_URL; \
	fi; \
	$(BIN)/netweave seed --demo --if-empty; \
	$(BIN)/netweave worker & worker=$$!; \
	echo "netweave on http://127.0.0.1:$(PORT)  (Neo4j at $$NEO4J_URI, analytics queue at $$NETWEAVE_QUEUE_URL)"; \
	echo "admin key: $$NETWEAVE_ADMIN_KEY"; \
	echo "try: curl -H 'Authorization: Bearer $$NETWEAVE_ADMIN_KEY' http://127.0.0.1:$(PORT)/v1/members"; \
	$(BIN)/netweave serve --port $(PORT)

# The suite runs in TEST_WORKERS processes (pytest-xdist), whole test files to a process, each process with
# a Neo4j of its own: on two cores this keeps the suite near 12 minutes instead of 20 in one process, which
# left a core idle while tests waited on Neo4j, servers and sleeps. With NEO4J_URI (one database, which
# every process would clean under the others) it runs in one process.
TEST_WORKERS ?= $(if $(NEO4J_URI),0,2)
test: install $(SYSTEM_TOOLS)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

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
