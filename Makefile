# Two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py

# make run PORT=8040 serves on another port; the printed address and the site's links follow it.
PORT ?= 8000

.PHONY: run test setup venv messages compile-messages lint format bench

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# Compile the committed .po catalogues with polib, so no system gettext is needed (the release step's own).
compile-messages: venv
	$(MANAGE) release --only messages

# The release step production runs on every deploy (docs/deployment.md), less collecting static files,
# which the development server does not need; then the demo content.
setup: venv
	$(MANAGE) release --only messages --only migrate
	$(MANAGE) load_demo

run: export SITE_URL = http://127.0.0.1:$(PORT)
run: setup
	$(MANAGE) runserver 127.0.0.1:$(PORT)

# The suite on every core (pytest-xdist); `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= auto
test: setup
	$(PY) -m pytest -n $(TEST_WORKERS)

# Reader pages under gunicorn next to the Wagtail peer and a static file of the same bytes, and p50/p95 on
# one connection; measured, never asserted. Options: make bench BENCH_ARGS="--scale /tmp/scale.sqlite3".
BENCH_ARGS ?=
bench: setup
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(MANAGE) bench $(BENCH_ARGS)

# Needs GNU gettext (xgettext) installed, as Django's makemessages does.
messages: venv
	$(MANAGE) makemessages -l ko --no-location --no-obsolete --ignore=.venv --ignore=tests

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: venv
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .
