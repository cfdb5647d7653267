# The two commands a newcomer needs: `make demo` and `make test`. Both build the project's
# virtual environment from pyproject.toml first, once (again whenever pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench mlflow-ui clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/earlywarn demo

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

# Every benchmark, recorded in benchmarks/results/, then written into the README's figures.
# OULAD: the folder of the public data set's CSV files (docs/oulad.md).
OULAD ?= ../shared/data/oulad
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --save
	$(BIN)/python benchmarks/demo_time.py --save
	$(BIN)/python benchmarks/oulad_eval.py --save --weeks 1-12 --source $(OULAD)
	$(BIN)/python benchmarks/oulad_peer.py --save --source $(OULAD)
	$(BIN)/python benchmarks/docs_figures.py

# The MLflow UI on a home's store: `make mlflow-ui` for this folder, or
# `make mlflow-ui EARLYWARN_HOME=/tmp/ew MLFLOW_PORT=5001` for another home.
EARLYWARN_HOME ?= $(CURDIR)
MLFLOW_PORT ?= 5000
MLFLOW_DB = $(abspath $(EARLYWARN_HOME))/mlruns/mlflow.db

mlflow-ui: $(STAMP)
	@test -f $(MLFLOW_DB) || { echo "no MLflow store at $(MLFLOW_DB): run earlywarn demo or earlywarn train there first, or pass EARLYWARN_HOME=<home>"; exit 2; }
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(MLFLOW_DB) --port $(MLFLOW_PORT)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
