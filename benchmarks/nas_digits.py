"""NAS benchmark on scikit-learn digits: can the search find a model at least as accurate as
the hand-designed MobileNetV2-style reference (``examples/mobilenetv2_ref.yaml``) with at
most a quarter of its MACs, within 10 CPU minutes on 2 cores?

Protocol (honest by construction)
* Data: digits split once into train / validation / held-out test (stratified, seed 0).
* One training recipe (optimizer, lr, weight decay, batch size, label smoothing, augment,
  epochs) is used for the reference AND for the final training of the searched models; the
  search varies the architecture only (block type, depth, width, kernel, expansion, SE,
  activation per stage, stem, head, width multiplier).
* Search: validation accuracy under the constraint MACs <= reference / 4 (checked before
  training; ``--objectives accuracy,macs`` searches the whole accuracy-vs-MACs front
  instead), successive-halving pruning on epochs, 2 worker processes.
* Selection uses validation accuracy only; the test set is touched once per final model.
  Reference and the chosen model are each trained with ``--seeds`` seeds; means compared.

Run: ``nice -n 10 .venv/bin/python benchmarks/nas_digits.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from slimtune.multiobjective import is_pareto_front, to_losses  # noqa: E402
from slimtune.nas.data import load_digits  # noqa: E402
from slimtune.nas.objective import TrialRecord  # noqa: E402
from slimtune.nas.profile import profile_spec  # noqa: E402
from slimtune.nas.search import run_search  # noqa: E402
from slimtune.nas.spec import ModelSpec, build_model  # noqa: E402
from slimtune.nas.train import TrainConfig, evaluate, set_seed, train_model  # noqa: E402

RECIPE = {
    "optimizer": "adamw",
    "lr": 3e-3,
    "weight_decay": 1e-4,
    "batch_size": 64,
    "label_smoothing": 0.1,
    "augment": 0.3,
}

SEARCH = {
    "study": {"name": "nas_digits_bench", "seed": 0, "n_jobs": 2},
    "objectives": ["accuracy", "macs"],
    "sampler": {"name": "TPESampler", "n_startup_trials": 12},
    "pruner": {"name": "SuccessiveHalvingPruner", "min_resource": 4, "reduction_factor": 3},
    "model": {
        "channel_divisor": 4,
        "width_multiple": [0.5, 0.75, 1.0],
        "stem": {"c2": [8, 12, 16], "k": 3, "s": 1, "act": ["relu", "hardswish"]},
        "stages": [
            {
                "block": ["InvertedResidual", "InvertedResidualV3", "DWSConv", "MBConv", "Conv"],
                "depth": {"type": "int", "low": 1, "high": 2},
                "c2": [8, 12, 16, 24],
                "k": [3, 5],
                "t": [2, 3, 4],
                "se": [False, True],
                "act": ["relu", "hardswish"],
                "s": 2,
            },
            {
                "block": [
                    "InvertedResidual",
                    "InvertedResidualV3",
                    "DWSConv",
                    "MBConv",
                    "Conv",
                    "Fire",
                    "Ghost",
                ],
                "depth": {"type": "int", "low": 1, "high": 3},
                "c2": [16, 24, 32, 48],
                "k": [3, 5],
                "t": [2, 3, 4],
                "se": [False, True],
                "act": ["relu", "hardswish"],
                "s": 2,
            },
        ],
        "head": {"c2": [0, 64, 128], "act": "relu"},
    },
    "train": dict(RECIPE, threads=1),
    "pick": {"rule": "best"},
    "output": {"plot": True, "export": []},
}


def train_eval(spec, data, epochs: int, seed: int) -> tuple[float, float]:
    """(validation accuracy, test accuracy) after training ``spec`` with the recipe."""
    set_seed(seed)
    model = build_model(spec)
    cfg = TrainConfig(epochs=epochs, seed=seed, threads=1, **RECIPE)
    res = train_model(model, data, cfg)
    import torch

    test_acc, _ = evaluate(model, torch.from_numpy(data.x_test), data.y_test, data.num_classes)
    return res.accuracy, test_acc


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the workers)."""
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--search-seconds", type=float, default=300.0)
    ap.add_argument("--epochs", type=int, default=20, help="full training budget")
    ap.add_argument("--seeds", type=int, default=2, help="seeds for the final comparison")
    ap.add_argument("--top-k", type=int, default=3, help="front models retrained at full budget")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "nas_digits"))
    ap.add_argument(
        "--objectives",
        default="accuracy",
        help="'accuracy' (maximise it under the MACs constraint; default) or 'accuracy,macs' "
        "(the whole Pareto front)",
    )
    ap.add_argument("--quick", action="store_true", help="tiny smoke run (~1 minute)")
    args = ap.parse_args()
    if args.quick:
        args.search_seconds, args.epochs, args.seeds, args.top_k = 30.0, 4, 1, 1
    t_start = time.monotonic()
    cpu_start = cpu_seconds()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_digits(val_fraction=0.2, seed=0, test_fraction=0.2)
    ref_spec = ModelSpec.from_yaml(ROOT / "examples" / "mobilenetv2_ref.yaml")
    ref_macs = profile_spec(ref_spec).macs
    budget = ref_macs // 4

    # 1. the search (architecture only; the recipe is fixed) --------------------------
    cfg = copy.deepcopy(SEARCH)
    cfg["constraints"] = {"max_macs": budget}
    cfg["objectives"] = args.objectives.split(",")
    cfg["fidelity"] = {"epochs": args.epochs, "subset": 1.0}
    db = out / "study.db"
    if db.exists():
        db.unlink()
    t0 = time.monotonic()
    res = run_search(
        cfg,
        storage=f"sqlite:///{db}",
        timeout=args.search_seconds,
        out_dir=out,
        progress=False,
        data=data,
    )
    search_s = time.monotonic() - t0
    n_trials = len(res.study.trials)
    states = [t.state.name for t in res.study.trials]
    records = [TrialRecord.of(t) for t in res.study.trials]
    n_skipped = sum(r is not None and r.skipped is not None for r in records)

    # 2. retrain the top-k of the front (by validation accuracy) and the reference ---------
    t1 = time.monotonic()
    # the top-k trained trials by search validation accuracy (all are within the budget)
    top = sorted(res.candidates, key=lambda c: (-c.accuracy, c.macs))[: args.top_k]
    if res.candidates:  # accuracy-vs-MACs front of everything trained, for the report
        pts = np.array([[c.accuracy, c.macs] for c in res.candidates], dtype=float)
        on = is_pareto_front(to_losses(pts, ["maximize", "minimize"]))
        front = sorted([c for c, m in zip(res.candidates, on) if m], key=lambda c: c.macs)
    else:
        front = []
    seeds = list(range(args.seeds))
    finals = []
    for c in top:
        spec = ModelSpec.from_dict(c.spec)
        vt = np.array([train_eval(spec, data, args.epochs, s) for s in seeds])
        finals.append(
            {
                "trial": c.number,
                "macs": c.macs,
                "params": c.params,
                "search_val_acc": c.accuracy,
                "val_acc": float(vt[:, 0].mean()),
                "test_acc": float(vt[:, 1].mean()),
                "spec": c.spec,
            }
        )
    chosen = max(finals, key=lambda f: (f["val_acc"], -f["macs"])) if finals else None
    rv = np.array([train_eval(ref_spec, data, args.epochs, s) for s in seeds])
    ref = {
        "macs": ref_macs,
        "params": profile_spec(ref_spec).params,
        "val_acc": float(rv[:, 0].mean()),
        "test_acc": float(rv[:, 1].mean()),
    }
    final_s = time.monotonic() - t1
    total_s = time.monotonic() - t_start
    cpu_s = cpu_seconds() - cpu_start

    # 3. report -----------------------------------------------------------------------
    print(
        f"\nreference {ref_spec.name}: {ref['macs']:,} MACs, {ref['params']:,} params, "
        f"val {ref['val_acc']:.4f}, test {ref['test_acc']:.4f} (mean of {len(seeds)} seeds)"
    )
    print(
        f"search: {n_trials} trials in {search_s:.0f} s ({states.count('COMPLETE')} complete, "
        f"{states.count('PRUNED')} pruned, {states.count('FAIL')} failed); "
        f"budget {budget:,} MACs; {n_skipped} over budget (not trained)"
    )
    print("\nPareto front (search fidelity, validation):")
    print(f"{'trial':>5} {'val acc':>8} {'MACs':>9} {'params':>7}")
    for c in front:
        print(f"{c.number:>5} {c.accuracy:8.4f} {c.macs:9,} {c.params:7,}")
    print(f"\nretrained at {args.epochs} epochs x {len(seeds)} seeds:")
    print(f"{'model':>12} {'MACs':>9} {'ratio':>6} {'val acc':>8} {'test acc':>8}")
    print(
        f"{'reference':>12} {ref['macs']:9,} {1.0:6.3f} {ref['val_acc']:8.4f} "
        f"{ref['test_acc']:8.4f}"
    )
    for f in finals:
        mark = " *" if f is chosen else ""
        print(
            f"{'trial ' + str(f['trial']):>12} {f['macs']:9,} {f['macs'] / ref_macs:6.3f} "
            f"{f['val_acc']:8.4f} {f['test_acc']:8.4f}{mark}"
        )
    ok = bool(chosen and chosen["test_acc"] >= ref["test_acc"] and chosen["macs"] * 4 <= ref_macs)
    print(
        f"\ntime: search {search_s:.0f} s + final training {final_s:.0f} s = {total_s:.0f} s "
        f"wall; {cpu_s:.0f} CPU s ({cpu_s / 60:.1f} CPU min)"
    )
    if chosen:
        print(
            f"chosen (by validation): trial {chosen['trial']}, MACs ratio "
            f"{chosen['macs'] / ref_macs:.3f}, test {chosen['test_acc']:.4f} vs reference "
            f"{ref['test_acc']:.4f} -> {'PASS' if ok else 'FAIL'}"
        )
    summary = {
        "reference": ref,
        "finals": finals,
        "chosen_trial": chosen and chosen["trial"],
        "n_trials": n_trials,
        "search_seconds": search_s,
        "total_seconds": total_s,
        "cpu_seconds": cpu_s,
        "budget_macs": budget,
        "pass": ok,
        "front": [{"trial": c.number, "val_acc": c.accuracy, "macs": c.macs} for c in front],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
