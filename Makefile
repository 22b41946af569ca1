# Everything a fresh machine needs: `make run` launches the app, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test bench lint screenshots clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/netcanvas

test: $(VENV)/.installed
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[test,bench]'
	for b in bench/bench_*.py; do $(PY) $$b || exit 1; done

screenshots: $(VENV)/.installed
	docs/screenshots/make_all.sh

lint: $(VENV)/.installed
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info
