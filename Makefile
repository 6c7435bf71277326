# Two commands do all set-up (see README):  make book  and  make test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Stamps of the installed extras: `book` builds the site; `book` + `test` run everything.
BOOK   := $(VENV)/.book-installed
TEST   := $(VENV)/.test-installed
CH     ?= chapters/*.md

.PHONY: book pdf test export sync run bench long-runs torch-reference clean system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Each extra is (re)installed whenever pyproject.toml changes.
$(BOOK): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[book]"
	touch $@

$(TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[book,test]"
	touch $@ $(BOOK)

## make book: install, export dlfs from the chapters, build the site into _build/html.
book: $(BOOK)
	$(BIN)/python tools/export.py
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "The book is built: open $(CURDIR)/_build/html/index.html"

## make lab: for readers. Builds the readers' notebooks and opens JupyterLab on them.
.PHONY: lab
lab: notebooks
	cd _build/notebooks && $(CURDIR)/$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) chapters/01-dense-layer.ipynb

## make notebooks: the readers' notebooks, _build/notebooks/chapters/*.ipynb: each chapter with its
# stored outputs and its MyST resolved into plain Markdown that Jupyter renders, with what the
# chapters read beside them (tools/reader_notebooks.py).
.PHONY: notebooks
notebooks: $(BOOK)
	$(BIN)/python tools/reader_notebooks.py

## make zip: the readers' download, _build/dlfs-notebooks.zip: the readers' notebooks, the dlfs
# wheel, a requirements.txt that names the wheel by its file, and a README (tools/reader_zip.py).
.PHONY: zip
zip: export
	$(BIN)/python tools/reader_zip.py

## make pdf: the book as a PDF, _build/latex/dlfs.pdf, from the same stored outputs (needs TeX;
# the README lists Debian's packages). A later `make book` links it from the landing page.
TEX_PACKAGES := texlive-latex-recommended texlive-latex-extra texlive-xetex texlive-fonts-recommended \
                texlive-science latexmk lmodern fonts-freefont-otf poppler-utils
pdf: $(BOOK)
	@command -v xelatex >/dev/null && command -v latexmk >/dev/null || \
	  { echo "make pdf needs TeX: sudo apt-get install $(TEX_PACKAGES)"; exit 1; }
	$(BIN)/python tools/export.py
	$(BIN)/jupyter-book build . --builder pdflatex --warningiserror --nitpick --keep-going
	$(BIN)/python tools/check_pdf.py
	@echo "The PDF is built: $(CURDIR)/_build/latex/dlfs.pdf (run make book to link it from the site)"

## make test: every test (export check, pairing, nbval on every chapter, the book build, unit tests).
test: $(TEST)
	$(BIN)/pytest

## make export: regenerate dlfs/ from the chapters' export cells.
export: $(BOOK)
	$(BIN)/python tools/export.py

## make sync: make each .ipynb match its edited .md (outputs are kept; re-run to refresh them).
sync: $(BOOK)
	$(BIN)/jupytext --sync $(CH)

## make run CH=chapters/03-activations.md: for authors. Export, then execute chapters and OVERWRITE
# their stored outputs (readers: make lab).
# The kernels run on the numeric platform of tools/numeric_platform.py (one OpenBLAS kernel and
# thread, NumPy capped at AVX2), so the stored outputs reproduce on any x86-64 CPU with AVX2.
# The performance appendix runs PyTorch, hence the test extra.
run: $(TEST) export
	$(BIN)/jupytext --to ipynb --update $(CH)
	$(BIN)/python tools/numeric_platform.py $(BIN)/jupyter-nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.timeout=600 $(CH:.md=.ipynb)

## make bench: the benchmarks against PyTorch and autograd (see benchmarks/). Not pinned: they
# measure the machine's best OpenBLAS kernel and NumPy vector level, and say which they ran.
UNPINNED := env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u NPY_DISABLE_CPU_FEATURES
bench: $(TEST)
	$(UNPINNED) $(BIN)/python benchmarks/train_mlp.py
	$(UNPINNED) $(BIN)/python benchmarks/autograd.py
	$(UNPINNED) $(BIN)/python benchmarks/train_cnn.py
	$(UNPINNED) $(BIN)/python benchmarks/language_model.py
	$(UNPINNED) $(BIN)/python benchmarks/attention.py

## make long-runs: the 15-epoch runs the Part II chapters quote (pinned, like the chapters).
long-runs: $(TEST) export
	$(BIN)/python tools/numeric_platform.py $(BIN)/python benchmarks/long_runs.py

## make torch-reference: PyTorch's versions of the Part II networks, the figures chapter 9 quotes.
torch-reference: $(TEST)
	$(UNPINNED) $(BIN)/python benchmarks/torch_reference.py

## make system-packages: the Debian packages the browser test and the PDF need (.ci/run installs them).
system-packages:
	@echo chromium chromium-driver $(TEX_PACKAGES)

clean:
	rm -rf _build
