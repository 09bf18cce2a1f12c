"""YAHPO Gym LCBench as a multi-fidelity problem of the benchmark harness.

YAHPO Gym's LCBench surrogate (``shared/data/yahpo``, Pfisterer et al. 2022; data of Zimmer et
al. 2021): 34 OpenML tasks, 7 hyperparameters of a funnel MLP, epochs 1..52. The surrogate runs
in its own virtual environment (``benchmarks/.venvs/yahpo``: yahpo-gym pins an old ConfigSpace)
as a server process (``benchmarks/peers/yahpo_server.py``) answering batched queries over a
pipe, so every method in the main venv and every peer can use it.

* observed: validation error ``1 - val_accuracy / 100`` after each epoch plus Gaussian noise
  of standard deviation ``0.01 * (1 + 1 / sqrt(epoch))`` (0.02 at epoch 1, 0.011 at epoch 52).
  The surrogate's curves are smooth predictions; a real run's validation accuracy moves by
  about a percentage point from epoch to epoch (a validation split of a few thousand rows has a
  binomial standard error of 0.5-1 point, plus SGD noise, more in the first epochs). Each new
  training draws its own noise stream; a resumed one continues its stream.
* true value: the noise-free validation error at epoch 52.
* normalized regret: ``(f - f*) / (f_med - f*)`` where ``f*`` is the smallest and ``f_med``
  the median true value of 20000 random configurations (cached in
  ``benchmarks/results/lcbench_optima.json``): 0 is the optimum, 1 the median random
  configuration.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import zlib
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "benchmarks", ".venvs", "yahpo")
DATA = os.environ.get("SLIMTUNE_YAHPO_DATA",
                      os.path.join(os.path.dirname(ROOT), "shared", "data", "yahpo"))
if not os.path.isdir(DATA):  # a worktree: shared/ lies beside the main checkout
    DATA = "/work/shared/data/yahpo"
OPTIMA = os.path.join(ROOT, "benchmarks", "results", "lcbench_optima.json")
MAX_EPOCHS = 52
NOISE = 0.01
TASKS = ["3945", "7593", "34539", "126025", "126026", "126029", "146212", "167104", "167149",
         "167152", "167161", "167168", "167181", "167184", "167185", "167190", "167200",
         "167201", "168329", "168330", "168331", "168335", "168868", "168908", "168910",
         "189354", "189862", "189865", "189866", "189873", "189905", "189906", "189908",
         "189909"]
# The 7 hyperparameters (YAHPO's config_space.json): name, kind, low, high, log.
SPACE: list[dict[str, Any]] = [
    {"name": "batch_size", "type": "int", "low": 16, "high": 512, "log": True},
    {"name": "learning_rate", "type": "float", "low": 1e-4, "high": 0.1, "log": True},
    {"name": "max_dropout", "type": "float", "low": 0.0, "high": 1.0, "log": False},
    {"name": "max_units", "type": "int", "low": 64, "high": 1024, "log": True},
    {"name": "momentum", "type": "float", "low": 0.1, "high": 0.99, "log": False},
    {"name": "num_layers", "type": "int", "low": 1, "high": 5, "log": False},
    {"name": "weight_decay", "type": "float", "low": 1e-5, "high": 0.1, "log": False},
]


def available() -> str | None:
    """None when the surrogate can run, else why not (one line)."""
    if not os.path.exists(os.path.join(VENV, ".installed")):
        return "no yahpo venv: run `bash benchmarks/peers/setup.sh yahpo`"
    if not os.path.exists(os.path.join(DATA, "lcbench", "model.onnx")):
        return f"no LCBench surrogate data under {DATA}"
    return None


class Server:
    """The surrogate process (one per harness process); thread-safe batched curve queries."""

    _instance: Server | None = None

    def __init__(self) -> None:
        why = available()
        if why:
            raise RuntimeError(why)
        self.proc = subprocess.Popen(
            [os.path.join(VENV, "bin", "python"),
             os.path.join(ROOT, "benchmarks", "peers", "yahpo_server.py"), DATA],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1)
        self.lock = threading.Lock()

    @classmethod
    def get(cls) -> Server:
        if cls._instance is None or cls._instance.proc.poll() is not None:
            cls._instance = Server()
        return cls._instance

    def curves(self, task: str, configs: list[dict[str, Any]],
               last_only: bool = False) -> np.ndarray:
        """Noise-free validation error, shape (len(configs), 52) (or (n, 1): epoch 52 only)."""
        with self.lock:
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.proc.stdin.write(json.dumps({"task": task, "configs": configs,
                                              "epochs": MAX_EPOCHS,
                                              "last_only": last_only}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the YAHPO server died (run it by hand to see why: "
                               "benchmarks/.venvs/yahpo/bin/python benchmarks/peers/"
                               "yahpo_server.py DATA)")
        return np.clip(np.asarray(json.loads(line)["error"], dtype=float), 0.0, 1.0)


def suggest(trial: Any) -> dict[str, Any]:
    """LCBench's 7 hyperparameters (the same calls for Optuna and slimtune trials)."""
    out: dict[str, Any] = {}
    for s in SPACE:
        f = trial.suggest_int if s["type"] == "int" else trial.suggest_float
        out[s["name"]] = f(s["name"], s["low"], s["high"], log=s["log"])
    return out


def sample(rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
    """``n`` configurations drawn uniformly (log-uniformly where the space says log)."""
    cols: dict[str, np.ndarray] = {}
    for s in SPACE:
        lo, hi = float(s["low"]), float(s["high"])
        if s["type"] == "int":  # every integer equally wide on the (log) scale
            lo, hi = lo - 0.5 + 1e-9, hi + 0.5 - 1e-9
        u = rng.uniform(size=n)
        if s["log"]:
            x = np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))
        else:
            x = lo + u * (hi - lo)
        if s["type"] == "int":
            x = np.clip(np.rint(x), s["low"], s["high"]).astype(int)
        cols[s["name"]] = x
    return [{k: (int(v[i]) if SPACE[j]["type"] == "int" else float(v[i]))
             for j, (k, v) in enumerate(cols.items())} for i in range(n)]


def optima(n: int = 20000, seed: int = 0) -> dict[str, dict[str, float]]:
    """Per task the best and the median true value of ``n`` random configurations (cached)."""
    cache: dict[str, dict[str, float]] = {}
    if os.path.exists(OPTIMA):
        with open(OPTIMA) as f:
            cache = json.load(f)
    missing = [t for t in TASKS if t not in cache or cache[t].get("n") != n]
    if missing:
        srv = Server.get()
        for t in missing:
            cfgs = sample(np.random.default_rng([seed, int(t)]), n)
            final = np.concatenate([srv.curves(t, cfgs[i:i + 5000], last_only=True)[:, -1]
                                    for i in range(0, n, 5000)])
            cache[t] = {"best": float(final.min()), "median": float(np.median(final)), "n": n}
            os.makedirs(os.path.dirname(OPTIMA), exist_ok=True)
            with open(OPTIMA, "w") as f:
                json.dump(cache, f, indent=1)
    return cache


class _Noisy:
    """A training run: the observed error after each further epoch."""

    def __init__(self, obs: np.ndarray):
        self.obs, self.i = obs, 0

    def step(self) -> float:
        v = float(self.obs[self.i])
        self.i += 1
        return v


class LCBench:
    """One LCBench task with observation noise; ``seed`` picks the noise streams."""

    max_epochs = MAX_EPOCHS
    space = SPACE

    def __init__(self, task: str, seed: int):
        self.task, self.seed = str(task), seed
        self._curves: dict[tuple, np.ndarray] = {}

    @staticmethod
    def suggest(trial: Any) -> dict[str, Any]:
        return suggest(trial)

    def curve(self, p: dict[str, Any]) -> np.ndarray:
        key = tuple(sorted(p.items()))
        if key not in self._curves:
            self._curves[key] = Server.get().curves(self.task, [dict(p)])[0]
        return self._curves[key]

    def run(self, p: dict[str, Any], number: int) -> _Noisy:
        c = self.curve(p)
        h = zlib.crc32(repr(sorted(p.items())).encode())
        rng = np.random.default_rng([self.seed, int(self.task), number, h])
        e = np.arange(1, MAX_EPOCHS + 1)
        return _Noisy(c + rng.normal(size=MAX_EPOCHS) * NOISE * (1 + 1 / np.sqrt(e)))

    def true_value(self, p: dict[str, Any]) -> float:
        return float(self.curve(p)[-1])


def normalized_regret(task: str, f: np.ndarray | float) -> np.ndarray:
    """``(f - f*) / (f_med - f*)`` with the task's cached random-sample optimum and median."""
    o = optima()[str(task)]
    return (np.asarray(f, dtype=float) - o["best"]) / max(o["median"] - o["best"], 1e-12)


if __name__ == "__main__":  # python -m benchmarks.yahpo_lcbench: fill the optimum cache
    for t, o in optima().items():
        print(f"{t:>7s} best {o['best']:.4f} median {o['median']:.4f}")

