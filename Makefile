# Two commands for a new user: `make book` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
TORCH_INDEX ?=   # e.g. https://download.pytorch.org/whl/cpu: PyTorch's CPU-only wheels (Linux pip otherwise pulls CUDA)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test test-fast bench toy clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0 $(if $(strip $(TORCH_INDEX)),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -e ".[book,test]" \
		diffusers==0.42.1 transformers==5.24.0 safetensors==0.8.0 tqdm==4.70.1 \
		matplotlib==3.11.2 ipywidgets==8.1.9
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	# the lowest ipywidgets gridlib allows (Colab's), beside the venv, for the explorer's test
	$(BIN)/python -m pip install --quiet --no-deps --upgrade --target $(VENV)/ipywidgets7 ipywidgets==7.7.1 ipython_genutils==0.2.0
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/python -m gridlib book build

test: $(STAMP)  # lint and format check first (seconds), then the suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

test-fast: $(STAMP)  # everything but the tests marked slow (notebooks, training the toy model, benchmarks, child processes)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not slow"

bench: $(STAMP)
	$(BIN)/python -m gridlib bench esd_step --model toy --quick

toy: $(STAMP)  # retrains the shipped toy assets: the judge (minutes), then the model (3,253 s on 2 CPU cores, its record says)
	$(BIN)/python -m gridlib.toyworld.train classifier
	$(BIN)/python -m gridlib.toyworld.train model

clean:
	rm -rf _build
