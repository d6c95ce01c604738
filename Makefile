# cosmicbook: `make book` builds the book, `make test` runs the whole test suite.
# Both create the virtualenv (.venv) and install the pinned versions of constraints.txt first.

PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
PROFILE ?= book
NB      ?=
STAMP   := $(VENV)/.installed-stamp
# peers whose wheels only install without their declared dependencies (see pyproject.toml)
NODEPS_PEERS := deepcr==0.3.1 desispec==0.70.0 ccdproc==2.5.1 linetools==0.3.2

.PHONY: help install book run test lint sync clean

help:
	@echo "make book [PROFILE=ci|book|full]   execute every chapter, build the HTML book"
	@echo "make run NB=01_dark_frames [PROFILE=...]   execute one chapter"
	@echo "make test                          the whole test suite (unit, notebooks, nbval, book, browser)"
	@echo "make lint                          ruff"
	@echo "make sync                          regenerate notebooks/*.ipynb from the .py sources"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[book,test,baselines,peers,survey]"
	$(PY) -m pip install --quiet --no-deps --use-pep517 -c constraints.txt $(NODEPS_PEERS)
	@touch $@

install: $(STAMP)

book: $(STAMP)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m cosmicbook.book all --profile $(PROFILE)

run: $(STAMP)
	@test -n "$(NB)" || (echo "usage: make run NB=<notebook name> [PROFILE=...]" && exit 2)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m cosmicbook.book execute --profile $(PROFILE) --only $(NB)

test: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check cosmicbook tests notebooks/*.py

sync: $(STAMP)
	$(PY) -m jupytext --update --to ipynb notebooks/*.py

clean:
	rm -rf _build
