# claimtag: every step is a target whose inputs and outputs are files.
#   make label   set up .venv if needed and label corpus/samples/ into out/
#   make test    run the test suite
#   make train   retrain models/ (only when the corpus, lexicon or code changed)
#   make eval    score the current model on the held-out test split
#   make bench   speed and memory benchmark (out/bench.json)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
OUT    ?= out
INPUT  ?= corpus/samples
ANNOTATIONS ?=

CORPUS := $(wildcard corpus/annotations/*.jsonl) corpus/lexicon.jsonl
MODEL_CODE := pipeline/classify.py pipeline/train.py pipeline/entities.py pipeline/segment.py \
              pipeline/abbreviation.py pipeline/corpus.py pipeline/nlp.py
MODEL  := models/claim-classifier.joblib

.PHONY: venv label test train eval bench report suggest checksums clean help

help:
	@sed -n '2,8p' Makefile

# The venv is rebuilt when the dependency pins change; installs are pinned by requirements.lock.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

label: $(STAMP)
	$(BIN)/claimtag label $(INPUT) --out $(OUT)

test: $(STAMP)
	$(BIN)/python -m pytest

$(MODEL): $(CORPUS) $(MODEL_CODE) | $(STAMP)
	$(BIN)/claimtag checksums
	$(BIN)/claimtag train

# make train                      rebuild the shipped model when corpus, lexicon or code changed
# make train ANNOTATIONS=dir/     add new annotations, compare with the current model, promote if not worse
ifeq ($(strip $(ANNOTATIONS)),)
train: $(MODEL)
else
train: $(STAMP)
	$(BIN)/claimtag train --annotations $(ANNOTATIONS)
endif

eval: $(STAMP)
	$(BIN)/claimtag evaluate corpus/annotations/test.jsonl

bench: $(STAMP)
	$(BIN)/claimtag bench --out $(OUT)/bench.json

report: $(STAMP)
	$(BIN)/claimtag report $(OUT) --html $(OUT)/report.html --csv $(OUT)/summary.csv

suggest: $(STAMP)
	$(BIN)/claimtag suggest $(INPUT) --n 100 --format labelstudio --out $(OUT)/suggestions.json

# After an intentional edit of corpus/annotations/*.jsonl.
checksums: $(STAMP)
	$(BIN)/claimtag checksums --update

clean:
	rm -rf $(OUT) .pytest_cache .hypothesis
