# sched: the two commands are `make run` and `make test`; the rest are their steps, or the
# contributor's tools (make lint, make upgrade; see CONTRIBUTING.md).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
# What `make run` writes in instance/ (the database, the mails) is the developer's alone.
PRIVATE := umask 077 &&
INSTALLED := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# Runs a command against a new PostgreSQL cluster, deleted afterwards (SCHED_TEST_DATABASE).
WITH_POSTGRESQL := $(BIN)/python -m tests.support.postgres --

.PHONY: run test bench bench-admin bench-wrk bench-postgresql install system-packages migrate \
	translations clean

# Where `make run` listens: `make run PORT=8080`, or ADDRESS=0.0.0.0 to be reached from the LAN.
PORT ?= 5000
ADDRESS ?= 127.0.0.1
# The address to open: this machine's first LAN address when listening on all of them.
SITE_HOST = $$([ "$(ADDRESS)" = 0.0.0.0 ] && hostname -I | cut -d' ' -f1 || echo "$(ADDRESS)")

## run: set up and serve the app with demo data on http://127.0.0.1:5000 (PORT=, ADDRESS= to move it)
run: install instance/secrets.json translations migrate
	@$(PRIVATE) $(FLASK) seed-demo --save instance/demo-accounts.txt > /dev/null
	@echo
	@echo "sched is starting on http://$(SITE_HOST):$(PORT)/login"
	@echo "Log in with one of the demo accounts (kept in instance/demo-accounts.txt):"
	@sed 's/^/  /' instance/demo-accounts.txt
	@echo "Mail sent by the app is printed here and saved in instance/mail/."
	@echo
	@chmod 700 instance
	env -u SCHED_SOCKET SCHED_CONFIG=development SCHED_HTTP=$(ADDRESS):$(PORT) \
		SCHED_SITE_URL=http://$(SITE_HOST):$(PORT) $(BIN)/uwsgi --ini uwsgi.ini

## test: install what the tests need and run the whole suite on SQLite, then on PostgreSQL
# Pass pytest options in PYTEST_ARGS, e.g. make test PYTEST_ARGS="-x tests/core".
# The browser and nginx tests (tests/e2e, tests/deploy) run once, on SQLite: pages are the same
# on either database; those marked each_database run on PostgreSQL too (tests/conftest.py).
# The two runs go side by side, one per core; the PostgreSQL run's report follows SQLite's, and
# the target fails if either run does.
# The browser tests' screenshots of every view, desktop and phone, land in tests/e2e/screenshots/
# (CI keeps them as artifacts; git ignores them).
E2E_SCREENSHOT_DIR ?= $(CURDIR)/tests/e2e/screenshots
test: install system-packages node-packages translations
	SCHED_CONFIG=testing $(FLASK) translate check
	@log=$$(mktemp); \
	$(WITH_POSTGRESQL) $(BIN)/python -m pytest $(PYTEST_ARGS) > $$log 2>&1 & postgresql=$$!; \
	echo "--- SQLite (the PostgreSQL run's report follows) ---"; \
	E2E_SCREENSHOT_DIR=$(E2E_SCREENSHOT_DIR) $(BIN)/python -m pytest $(PYTEST_ARGS); sqlite=$$?; \
	wait $$postgresql; postgresql=$$?; \
	echo "--- PostgreSQL ---"; cat $$log; rm -f $$log; \
	[ $$sqlite -eq 0 ] && [ $$postgresql -eq 0 ]

## test-postgresql: run the suite on a throw-away PostgreSQL cluster only
## (tests/support/postgres.py)
.PHONY: test-postgresql
test-postgresql: install system-packages node-packages translations
	$(WITH_POSTGRESQL) $(BIN)/python -m pytest $(PYTEST_ARGS)

## test-load: 50 logged-in clients against uWSGI for a minute, then faults under load (a worker
## killed, PostgreSQL restarted or read-only, a full disk), on SQLite then PostgreSQL (~6 minutes)
# The tests marked `load` (tests/load), which `make test` leaves out; the figures print at the
# end of each run. Options in PYTEST_ARGS, e.g. make test-load PYTEST_ARGS="-k steady".
.PHONY: test-load
test-load: install system-packages translations
	$(BIN)/python -m pytest -m load $(PYTEST_ARGS) tests/load
	$(WITH_POSTGRESQL) $(BIN)/python -m pytest -m load $(PYTEST_ARGS) tests/load

## bench: load-test the calendar views with wrk against a bare reference page (~8 minutes)
# Pass options in BENCH_ARGS, e.g. make bench BENCH_ARGS="--sizes 10000 --rounds 1".
bench: install bench-wrk
	$(BIN)/python -m bench $(BENCH_ARGS)

## bench-admin: load-test the admin appointment list, 1,000,000 appointments on a throw-away
## PostgreSQL cluster (~7 minutes)
# Options in BENCH_ARGS too, e.g. make bench-admin BENCH_ARGS="--rounds 1 --pages first edit".
bench-admin: install bench-wrk bench-postgresql
	$(BIN)/python -m bench --admin $(BENCH_ARGS)

bench-wrk:
	@if ! command -v wrk > /dev/null; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk; \
	fi

# Debian's server; bench/admin.py runs its own cluster (tests/support/postgres.py) in /tmp, never
# the package's.
bench-postgresql:
	@if [ -z "$$PG_BIN" ] && ! ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql; \
	fi

install: $(INSTALLED)

# requirements/*.txt are compiled from the short *.in files (make upgrade), every package pinned
# and hashed. pip and setuptools come first, from build.txt: the sdists (uWSGI, Flask-Principal)
# are then built with that setuptools, as build isolation would fetch one without checking a hash.
REQUIREMENTS := build base prod dev
PIP_INSTALL := $(BIN)/python -m pip install --quiet --require-hashes
$(INSTALLED): $(REQUIREMENTS:%=requirements/%.txt)
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements/build.txt
	$(PIP_INSTALL) --no-build-isolation -r requirements/dev.txt
	touch $@

## upgrade: refresh requirements/*.txt to the newest releases the *.in files allow, then make test
# Each layer is constrained by the one before (prod.in: -c base.txt, dev.in: -c prod.txt), so they
# are compiled in order. UPGRADE= only recompiles after an edit to an .in file, keeping the other
# pins; UPGRADE="--upgrade-package flask" moves one. pip-compile asks PyPI alone (no pip.conf,
# PIP_FIND_LINKS or local index of this machine), so the hashes are the ones anyone downloads.
UPGRADE ?= --upgrade
PIP_COMPILE := env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL \
	PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="make upgrade" \
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras
.PHONY: upgrade
upgrade: install
	for layer in $(REQUIREMENTS); do \
		$(PIP_COMPILE) $(UPGRADE) requirements/$$layer.in || exit 1; \
	done

## lint: ruff (rules, then formatting) and mypy on app/, configured in pyproject.toml; all three
## run, and lint fails if any of them finds something
LINT_PATHS := app
.PHONY: lint
lint: install
	@status=0; \
	$(BIN)/ruff check $(LINT_PATHS) || status=1; \
	$(BIN)/ruff format --check $(LINT_PATHS) || status=1; \
	$(BIN)/mypy $(LINT_PATHS) || status=1; \
	exit $$status

# Debian packages the tests start for real: Chromium (Playwright never downloads a browser
# here), PostgreSQL (a throw-away cluster, never the package's own), nginx and Redis (the
# shared rate-limit store; the tests start their own server, never the package's), Java for the
# Nu Html Checker and npm to install it and axe-core (node-packages).
system-packages:
	@missing=""; \
	[ -x $(CHROMIUM) ] || missing="$$missing chromium"; \
	command -v java > /dev/null || missing="$$missing default-jre-headless"; \
	command -v npm > /dev/null || missing="$$missing npm"; \
	ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1 || missing="$$missing postgresql"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	[ -x /usr/bin/redis-server ] || missing="$$missing redis-server"; \
	command -v openssl > /dev/null || missing="$$missing openssl"; \
	if [ -n "$$missing" ]; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# The checkers tests/e2e/test_accessibility.py runs on every page, pinned in package-lock.json:
# axe-core and the Nu Html Checker (vnu.jar). Without install scripts: vnu-jar's would download a
# Java runtime when none is found, and Debian's comes from system-packages.
.PHONY: node-packages
node-packages: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json | system-packages
	npm ci --no-audit --no-fund --ignore-scripts

instance/secrets.json:
	$(BIN)/python config.py

migrate: install instance/secrets.json
	$(PRIVATE) $(FLASK) db upgrade

# The .mo files the app reads, built from the .po catalogs (never edited by hand, not committed).
translations: install
	SCHED_CONFIG=testing $(FLASK) translate compile

clean:
	rm -rf $(VENV) .pytest_cache
