# Everything a fresh machine needs: `make run` installs what the app needs and launches it, `make test` adds
# the test extras and runs the tests. Each install is stamped in the venv, so it runs once (and again only
# when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# setuptools ends every editable install with an information-only banner (a folder named like the
# package may take precedence): here the folders are the package, so it says nothing
PIP := PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip
# Another build of PyTorch from its own index, e.g. the CPU-only one, which leaves out the CUDA libraries:
#   make run TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=

.PHONY: run test bench lint screenshots clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed-app: pyproject.toml | $(PY)
	$(if $(TORCH_INDEX),$(PIP) install -q torch torchvision --index-url $(TORCH_INDEX))
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-app
	$(PIP) install -q -e '.[test]'
	touch $@

run: $(VENV)/.installed-app
	$(VENV)/bin/netcanvas

test: $(VENV)/.installed-test
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed-test
	$(PIP) install -q -e '.[test,bench]'
	for b in bench/bench_*.py; do $(PY) $$b || exit 1; done

screenshots: $(VENV)/.installed-app
	docs/screenshots/make_all.sh

lint: $(VENV)/.installed-test
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info
