# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv and install what they need.

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint install clean screenshots mutate

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/sparktriage demo

test: $(STAMP)
	bash .ci/system-deps
	$(BIN)/python -m pytest -q -ra --durations=25

bench: $(STAMP)
	$(BIN)/python -m bench

# Mutation testing of the pure core (docs/mutation.md); not part of `make test`.
# Incremental: results stay in mutants/, only changed functions run again.
MUTATE_JOBS ?= 2
mutate: $(STAMP)
	@# mutmut copies non-Python files (rule packs, the model) once: refresh them
	mkdir -p mutants && git ls-files classifiers rules logtext ingest sparktriage dashboard models | grep -v '\.py$$' \
		| xargs -r cp --parents -t mutants
	$(BIN)/mutmut run --max-children $(MUTATE_JOBS)
	$(BIN)/python -m tools.mutation --min-score 85

lint: $(STAMP)
	$(BIN)/sparktriage rules lint
	$(BIN)/lint-imports --no-cache  # the layers of ARCHITECTURE.md (contracts in pyproject.toml)

clean:
	rm -rf $(VENV) var build *.egg-info mutants

# docs/screenshots: every dashboard page on a seeded store, in headless chromium
screenshots: $(STAMP)
	bash .ci/system-deps
	$(BIN)/python -m tests.browser docs/screenshots
