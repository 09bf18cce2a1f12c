# slimtune: `make demo` runs the main job, `make test` the test suite (each sets up .venv first).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.slimtune-installed

.PHONY: bench-scaling bench-speed bench-tpe bench-mf bench-nas venv demo test bench lint clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# CPU build of PyTorch (a local wheel on our machines; a plain `torch` pulls CUDA).
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[dev,nas,postgres,viz,bench,dask]"
	touch $(STAMP)

# The main job: a lightweight-model search (accuracy vs MACs) on scikit-learn's digits,
# embedded SQLite (demo.db, resumes when run again), outputs in demo_out/.
demo: venv
	$(BIN)/slimtune search examples/nas_digits.yaml --storage sqlite:///demo.db --out demo_out

# The tests and the doctests of src/slimtune (pyproject.toml: testpaths, --doctest-modules).
test: venv
	$(BIN)/python -m pytest tests src/slimtune

# Benchmarks against Optuna / Hyperopt (about two hours on 2 cores in all); tables go to
# docs/bench/. Each target reproduces the tables quoted in docs/ with the same commands.
bench: bench-speed bench-tpe bench-mf bench-nas

bench-speed: venv
	$(BIN)/python -m benchmarks.speed --repeat 3 --out docs/bench/speed.md
	$(BIN)/python -m benchmarks.speed --sampler tpe --n 1000 --k 20 --out docs/bench/tpe_speed.md
	$(BIN)/python -m benchmarks.heartbeat --out docs/bench/heartbeat.md

bench-tpe: venv
	$(BIN)/python -m benchmarks.run --suite synthetic --optimizers slimtune-tpe,optuna-tpe,hyperopt-tpe,slimtune-random --seeds 20 --jobs 2 --out docs/bench/tpe_synthetic.md
	$(BIN)/python -m benchmarks.run --suite synthetic --optimizers slimtune-tpe,optuna-tpe --seeds 20 --seed0 100 --jobs 2 --out docs/bench/tpe_synthetic_holdout.md
	$(BIN)/python -m benchmarks.run --suite sklearn --optimizers slimtune-tpe,optuna-tpe,hyperopt-tpe,slimtune-random --seeds 10 --jobs 2 --out docs/bench/tpe_sklearn.md

bench-mf: venv
	$(BIN)/python -m benchmarks.multifidelity --problem lc --seeds 10 --jobs 2
	$(BIN)/python -m benchmarks.multifidelity --problem digits --seeds 10 --jobs 2

# Multi-fidelity peers side by side (DEHB, SMAC3, syne-tune 0.13, YAHPO LCBench, each in its own
# venv under benchmarks/.venvs, made by benchmarks/peers/setup.sh); results are checkpointed to
# benchmarks/results/mf_peers_*.json (a cut run resumes), tables to docs/bench/mf_peers_*.md.
# Hours on 2 cores: the GP-based syne-tune schedulers and SMAC3 are the slow ones.
.PHONY: bench-mf-peers
bench-mf-peers: venv
	bash benchmarks/peers/setup.sh
	$(BIN)/python -m benchmarks.mf_peers --problem lcbench --tasks all --seeds 10 --jobs 2
	$(BIN)/python -m benchmarks.mf_peers --problem lc --seeds 10 --jobs 2
	$(BIN)/python -m benchmarks.mf_peers --problem digits --seeds 10 --jobs 2

# slimtune search vs Optuna multi-objective TPE on the NAS objective (digits, MNIST-1D; 3 seeds,
# 80 s each, ~25 min on 2 cores): docs/bench/nas_vs_optuna.md + HV-over-time plots; then the
# MobileNetV2-reference check on digits.
bench-nas: venv
	$(BIN)/python benchmarks/nas_vs_optuna.py --budget 80
	$(BIN)/python benchmarks/nas_digits.py

# Trials/s against 1-8 worker processes, slimtune vs Optuna's RDB storage, SQLite and (with
# SLIMTUNE_TEST_POSTGRES_URL set, as .ci/run does) PostgreSQL; about 10 min on 2 cores.
bench-scaling: venv
	$(BIN)/python -m benchmarks.scaling --repeats 2 --profile --out docs/bench/scaling.md

lint: venv
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) demo.db* demo_out quickstart.db* .pytest_cache
