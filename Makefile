# `make run`: the point-maze pipeline end to end on a small default.  `make test`: the test suite.
# Both create or refresh .venv from requirements.txt first (skipped when nothing changed); `make test` also
# installs the optional extras whose tests it runs (cluster launchers, experiment tracking, jax for Minari's
# DataCollector, Stable-Baselines3 for the peer reference sb3_sac, Gymnasium-Robotics).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS_STAMP := $(VENV)/.installed-extras

.PHONY: setup run test test-fast lint params bench figures clean-venv

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

$(EXTRAS_STAMP): $(STAMP) requirements-cluster.txt requirements-track.txt requirements-test.txt requirements-bench.txt \
  requirements-robotics.txt
	$(PY) -m pip install --quiet -r requirements-cluster.txt -r requirements-track.txt -r requirements-test.txt \
	  -r requirements-bench.txt -r requirements-robotics.txt
	touch $(EXTRAS_STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(PY) scripts/demo.py

test: $(EXTRAS_STAMP)
	MUJOCO_GL=egl $(PY) -m pytest -q -n 2 tests

test-fast: $(EXTRAS_STAMP)
	MUJOCO_GL=egl $(PY) -m pytest -q -n 2 -m "not slow" tests

# ruff's lint rules and formatting, and mypy on the package, as configured in pyproject.toml (.ci/run runs it after
# the tests).
lint: $(EXTRAS_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# default_params.json, flows/default_params.json and the tables of docs/parameters.md, from the schemas
# (RLParams, PriorParams) after a declaration changed.
params: $(STAMP)
	$(PY) -m sfp.commands.params_files

clean-venv:
	rm -rf $(VENV)

bench: $(STAMP)
	$(PY) -m pip install --quiet -r requirements-bench.txt
	$(PY) scripts/bench.py

# Every figure and table of the evidence grids, again from the logs committed under $(RESULTS)/logs (plot.py for
# each grid found there, one table of both entropy protocols (the paper's settings and *_tuned) per family, the
# exploration maps for the maze grids whose logs have visitation counts); results/README.md quotes these files.
# Coverage tables at the end of the 10k start_steps, in which every method acts with its exploration distribution
# alone (uniform actions for sac and pink, the prior for sfp), and after them; the maps show the largest count: 10k
# for the open room (later every method covers it), 20k for the transfer mazes (where pink's colored noise and SAC's
# white noise part only after the start_steps), 50k for Gymnasium-Robotics' PointMaze_Medium (600-step episodes).
RESULTS ?= results
GRIDS := metaworld maze control metaworld_tuned maze_tuned control_tuned robotics_pilot robotics
figures: $(STAMP)
	for grid in $(GRIDS); do ls -d $(RESULTS)/logs/$${grid}__* >/dev/null 2>&1 || continue; \
	  $(PY) scripts/plot.py $(RESULTS)/logs/$${grid}__* --out $(RESULTS)/$$grid || exit 1; done
	for grid in metaworld maze control; do ls -d $(RESULTS)/logs/$${grid}_tuned__* >/dev/null 2>&1 || continue; \
	  $(PY) scripts/plot.py $(RESULTS)/logs/$${grid}__* $(RESULTS)/logs/$${grid}_tuned__* \
	    --out $(RESULTS)/$${grid}_protocols || exit 1; done
	for grid in "maze 10000 20000" "control 2000 5000 10000" "maze_tuned 10000 20000" "control_tuned 2000 5000 10000" \
	  "robotics 20000 50000"; do \
	  set -- $$grid; name=$$1; shift; \
	  ls $(RESULTS)/logs/$${name}__*/visitation.npz >/dev/null 2>&1 || continue; \
	  $(PY) scripts/plot_exploration.py $(RESULTS)/logs/$${name}__* --out $(RESULTS)/$$name --steps "$$@" || exit 1; done
