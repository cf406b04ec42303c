# Two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py

.PHONY: run test setup venv messages compile-messages lint format bench

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# Compile the committed .po catalogues with polib, so no system gettext is needed.
compile-messages: venv
	$(PY) -c "import pathlib, polib; [polib.pofile(str(p)).save_as_mofile(str(p.with_suffix('.mo'))) for p in pathlib.Path('locale').rglob('*.po')]"

setup: venv compile-messages
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo

run: setup
	$(MANAGE) runserver 127.0.0.1:8000

test: setup
	$(PY) -m pytest

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
