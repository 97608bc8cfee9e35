# Two commands do all set-up on a fresh machine with Python 3.11+ and make:
#   make report   build the virtual environment if needed, then the sample study's HTML reports
#   make test     build the virtual environment if needed, then every test, doctest and notebook check
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STUDY ?= data/sample/study.yaml
REPORTS ?= reports
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg

.PHONY: report pdf test lab clean-data sample notebooks constraints fuzz

report: $(STAMP)
	$(BIN)/python -m analysis report $(STUDY) --out $(REPORTS)/

# The reports, and the summary printed to $(REPORTS)/summary.pdf by headless Chromium (skipped, saying so,
# where none is installed: apt-get install chromium).
pdf: $(STAMP)
	$(BIN)/python -m analysis report $(STUDY) --out $(REPORTS)/ --pdf

test: $(STAMP)
	$(BIN)/python -m pytest $(NBVAL)

# JupyterLab refuses to run as root unless told; containers often run as root.
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root,)

# Processed data of a study (responses, change log, summary; quarantine under private/).
clean-data: $(STAMP)
	$(BIN)/python -m analysis clean $(STUDY) --out processed/

# Regenerate the committed sample study from its seed (tests check it is byte-identical), its stored
# results (which the notebooks open on), and the notebooks' stored outputs.
sample: $(STAMP)
	$(BIN)/python -m analysis simulate --seed 2026 --out data/sample
	rm -rf data/sample/results
	$(BIN)/python -c "from analysis.pipeline import build; build('data/sample/study.yaml', 'data/sample/results')"
	$(MAKE) notebooks

# Longer fuzzing of the reader and the scrubber (10,000 generated cases each; hypothesis prints statistics).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=10000 $(BIN)/python -m pytest tests/test_scrub.py -k fuzz -q --hypothesis-show-statistics

# Re-execute the report notebooks on the sample's results and store their outputs (nbval compares them).
notebooks: $(STAMP)
	cd notebooks && ANALYSIS_RESULTS_ONLY=1 ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.record_timing=False --log-level=ERROR [0-9]*.ipynb

# The virtual environment is rebuilt when missing or older than the dependency files.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
	@touch $@

# Re-pin every dependency with this machine's Python (run after changing pyproject.toml).
constraints:
	rm -rf .venv-pin && $(PYTHON) -m venv .venv-pin
	.venv-pin/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	{ echo "# Pinned versions for make (pip install -c). Regenerate with: make constraints"; \
	  echo "# Generated with $$(.venv-pin/bin/python --version)"; \
	  .venv-pin/bin/python -m pip freeze --exclude-editable | grep -v '^-e'; } > constraints.txt
	rm -rf .venv-pin
