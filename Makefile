# Two commands do all set-up (see README):  make book  and  make test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CH     ?= chapters/*.md

.PHONY: book test export sync run bench clean

# The virtual environment, rebuilt whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[book,test]"
	touch $@

## make book: install, export dlfs from the chapters, build the site into _build/html.
book: $(STAMP)
	$(BIN)/python tools/export.py
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "The book is built: open $(CURDIR)/_build/html/index.html"

## make test: every test (export check, pairing, nbval on every chapter, the book build, unit tests).
test: $(STAMP)
	$(BIN)/pytest

## make export: regenerate dlfs/ from the chapters' export cells.
export: $(STAMP)
	$(BIN)/python tools/export.py

## make sync: make each .ipynb match its edited .md (outputs are kept; re-run to refresh them).
sync: $(STAMP)
	$(BIN)/jupytext --sync $(CH)

## make run CH=chapters/03-activations.md: export, then execute chapters and store their outputs.
# One BLAS thread: the sums inside matrix products then run in the same order on any machine,
# so the stored outputs reproduce (tests/conftest.py sets the same for nbval).
run: export OPENBLAS_NUM_THREADS = 1
run: export OMP_NUM_THREADS = 1
run: export
	$(BIN)/jupytext --to ipynb --update $(CH)
	$(BIN)/jupyter-nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=600 $(CH:.md=.ipynb)

## make bench: the training benchmark against PyTorch (see benchmarks/).
bench: $(STAMP)
	$(BIN)/python benchmarks/train_mlp.py

clean:
	rm -rf _build
