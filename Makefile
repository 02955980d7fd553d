# Two entry points for a fresh machine; each makes the virtual environment it needs.
#   make run   - set up, then run the main job on the built-in dataset (mnist5k)
#   make test  - set up, then run the whole test suite (what CI runs)
#   make quick - set up, then the tests not marked slow (a few minutes: for editing)
# Override the interpreter with `make PYTHON=python3.12 ...`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test quick bench verdict clean

# pip -qq: errors only; its warnings (e.g. about find-links folders a machine lacks) are noise here
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq --upgrade pip
	$(PY) -m pip install -qq -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/tune-growth search h1

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile

quick: $(STAMP)
	$(PY) -m pytest -m "not slow"

# every search and study behind the README's verdicts, from scratch, on equal terms (issue 27): every
# space searched at every budget in compute, re-chosen over seeds, matched controls; resumable (run it
# again after an interruption); hours on a 2-core CPU, so it spans sessions (benchmarks/verdict.py)
verdict: $(STAMP)
	$(PY) -m benchmarks verdict

bench: $(STAMP)
	$(PY) -m benchmarks pipeline
	$(PY) -m benchmarks hypotheses
	$(PY) -m benchmarks utilization
	$(PY) -m benchmarks loop
	$(PY) -m benchmarks precision
	$(PY) -m benchmarks time_to_accuracy
	$(PY) -m benchmarks memory
	$(PY) -m benchmarks search_efficiency
	$(PY) -m benchmarks search_efficiency --space h1 --dataset cifar --trials 12 --budget 2 --evals 10 \
		--methods random asha_tpe budgets_tpe
	$(PY) -m benchmarks precompute
	$(PY) -m benchmarks finetune
	$(PY) -m benchmarks measurement
	$(PY) -m benchmarks rank_fidelity

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
