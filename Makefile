# Entry points, each doing its own set-up on a fresh Debian machine:
#   make repro   the pipeline (dvc repro) on the default configuration, recording where its wall time
#                went in benchmarks/results/time_breakdown.md (benchmarks/time_breakdown.py), then README.md's
#                results rewritten from what it wrote (python -m bnonly.readme_results) and every grid's
#                estimated cost from its speeds (benchmarks/cost_estimates.py)
#   make test    the test suite
# and, beyond the paper:
#   make extensions  the extensions pipeline (extensions/dvc.yaml), its wall time in
#                    benchmarks/results/time_breakdown_extensions.md, beside the default's; README.md's results
#                    rewritten too
#   make study       the pre-registered budget study (study/dvc.yaml, study/README.md), its wall time in
#                    benchmarks/results/time_breakdown_study.md; README.md's results rewritten too
#   make scope       the pre-registered scope set (scope/dvc.yaml, scope/README.md), its wall time in
#                    benchmarks/results/time_breakdown_scope.md; README.md's results rewritten too
#   make slurm-repro the default pipeline through SLURM (every grid cell a task of one array, then dvc repro in
#                    the workspace as the --then-repro job), submit to claims, in
#                    benchmarks/results/time_breakdown_slurm.md; needs a running cluster
#                    (scripts/slurm/start-local-slurm.sh starts a one-node one here)
# Each timed target resumes: run again after a stop (Ctrl-C, a lost session), it continues the stopped run, and
# its breakdown covers every piece (time_breakdown.py --resume); after a run that finished, it starts afresh.
VENV := .venv
SHELL := /bin/bash
# DVC runs each stage's command through $SHELL (else /bin/sh). Debian's /bin/sh (dash) stays between DVC and
# the stage and dies on Ctrl-C, so DVC would report the stage failed while training still saves; bash execs it.
export SHELL
export DVC_NO_ANALYTICS := 1
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# A `dvc repro` that fails (a stop included) takes back the .gitignore entries it wrote for the stages it
# finished, so after a run in pieces git would offer their cached outputs; recommitting the finished pipeline
# writes them again (docs/faults.md, "Git's view after a stop").
IGNORE_AGAIN := dvc commit --force --quiet

.PHONY: repro test extensions study scope slurm-repro setup fashion-mnist

setup: $(VENV)/.installed fashion-mnist

# torch==2.14.1 and torchvision==0.29.1 come from this machine's wheel store through pip (uv and poetry
# would download the CUDA build).
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# Debian's dataset-fashion-mnist: the real data set on machines without internet.
fashion-mnist:
	@test -d /usr/share/datasets/fashion-mnist || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dataset-fashion-mnist; }

repro: setup
	source $(VENV)/bin/activate && python benchmarks/time_breakdown.py --resume -- dvc repro
	source $(VENV)/bin/activate && $(IGNORE_AGAIN) dvc.yaml && python -m bnonly.readme_results && \
	  python benchmarks/cost_estimates.py

# `dvc repro extensions/dvc.yaml` reproduces only the extensions pipeline (and what it depends on); --out keeps
# its breakdown (.md, .csv and the .jsonl log beside it) apart from `make repro`'s.
extensions: setup
	source $(VENV)/bin/activate && python benchmarks/time_breakdown.py --resume \
	  --out benchmarks/results/time_breakdown_extensions.md -- dvc repro extensions/dvc.yaml
	source $(VENV)/bin/activate && $(IGNORE_AGAIN) extensions/dvc.yaml && python -m bnonly.readme_results

# The pre-registered sets (<set>/registration.yaml): each its own pipeline, breakdown and committed reports.
study scope: setup
	source $(VENV)/bin/activate && python benchmarks/time_breakdown.py --resume \
	  --out benchmarks/results/time_breakdown_$@.md -- dvc repro $@/dvc.yaml
	source $(VENV)/bin/activate && $(IGNORE_AGAIN) $@/dvc.yaml && python -m bnonly.readme_results

# One task at a time with both cores, as `make repro` trains, so that the two times compare. The workspace's
# `dvc repro` is the --then-repro job (afterok on the array), as a user who walks away gets it; --wait waits for
# it too, and the time ends when `dvc status` finds nothing left to run (exit status 1 if it does).
slurm-repro: setup
	source $(VENV)/bin/activate && python benchmarks/time_breakdown.py --resume \
	  --out benchmarks/results/time_breakdown_slurm.md -- \
	  bash -c 'python -m bnonly.slurm submit --wait --then-repro --cpus-per-task 2 && dvc status --quiet dvc.yaml'

test: setup
	source $(VENV)/bin/activate && python -m pytest
