"""How well does the per-block latency table (``slimtune.nas.latency``) predict measured
whole-model CPU latency on the NAS example spaces, and at what cost?

Protocol, per space (``examples/nas_digits.yaml``, ``examples/nas_mnist1d.yaml``, and a
family around ``examples/mobilenetv2_ref.yaml``: width x depth multiples x input size):

* sample ``--n`` architectures with a seeded RandomSampler;
* measure each whole model the way the table measures its entries (``measure_latency``:
  10 warm-up runs, median of 30, 1 thread, batch 1; the smallest of 3 such medians) --
  run 1; build a fresh table for all their blocks (timed); measure every model again the
  same way -- run 2 -- and once with a single ``measure_latency`` call (what
  ``latency: {method: measure}`` does per trial). Run 1 vs run 2 (and single vs run 2) is
  the measurement's own noise: the floor a predictor compared with one measurement can
  reach;
* the correction is fitted on the first ``--calibrate`` models' run-1 measurements (as a
  search does: its first models are measured); errors are over the others, against run 2:
  median and 90th percentile of |predicted - measured| / measured, Spearman rank
  correlation, each with a bootstrap standard error over architectures (seeded);
* time per prediction (table filled, shapes traced once per process) vs per measurement.

The machine is shared (other jobs run): the numbers carry that noise, and both the
predictor and the measurement noise are measured in the same run, side by side.

Run: ``.venv/bin/python benchmarks/nas_latency.py`` (~5-10 min; ``--quick``: ~1 min).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import slimtune as st  # noqa: E402
from slimtune.nas import selection  # noqa: E402, F401  (registers the pick rules)
from slimtune.nas.config import load_config  # noqa: E402
from slimtune.nas.latency import CORRECTIONS, LatencyTable, fit_correction  # noqa: E402
from slimtune.nas.space import ArchSpace  # noqa: E402
from slimtune.nas.spec import ModelSpec, load_spec  # noqa: E402


def _space_specs(config: str, in_size: tuple[int, int], n: int, seed: int) -> list[ModelSpec]:
    cfg = load_config(ROOT / config)
    arch = ArchSpace(cfg.model, cfg.train, 1, 10, in_size)
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=seed))
    specs = []
    for _ in range(n):
        t = study.ask()
        specs.append(arch.to_spec(arch.suggest(t)))
        study.tell(t, 0.0)
    return specs


def _mbv2_family(n: int, seed: int) -> list[ModelSpec]:
    """Variants of the MobileNetV2-style reference: width multiple, depth multiple and
    input size (the reference is 8 x 8 digits; larger inputs make larger latencies)."""
    ref = load_spec(ROOT / "examples" / "mobilenetv2_ref.yaml").to_dict()
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        d = dict(ref)
        d["width_multiple"] = float(rng.choice([0.35, 0.5, 0.75, 1.0, 1.25, 1.5]))
        d["depth_multiple"] = float(rng.choice([0.5, 1.0, 1.5]))
        size = int(rng.choice([8, 12, 16, 24]))
        d["input_size"] = [size, size]
        out.append(load_spec(d))
    return out


SPACES = {
    "digits": lambda n, seed: _space_specs("examples/nas_digits.yaml", (8, 8), n, seed),
    "mnist1d": lambda n, seed: _space_specs("examples/nas_mnist1d.yaml", (1, 40), n, seed),
    "mbv2_ref_family": _mbv2_family,
}


def _errors(pred: np.ndarray, meas: np.ndarray) -> np.ndarray:
    return np.abs(pred - meas) / meas


def _stats(pred: np.ndarray, meas: np.ndarray, rng: np.random.Generator, boot: int) -> dict:
    """Median / 90th percentile relative error and Spearman, with bootstrap SEs."""
    rel = _errors(pred, meas)
    idx = rng.integers(0, len(rel), size=(boot, len(rel)))
    med = np.median(rel[idx], axis=1)
    p90 = np.percentile(rel[idx], 90, axis=1)
    rho = np.array([stats.spearmanr(pred[i], meas[i])[0] for i in idx])
    return {
        "median_rel": float(np.median(rel)),
        "median_rel_se": float(med.std(ddof=1)),
        "p90_rel": float(np.percentile(rel, 90)),
        "p90_rel_se": float(p90.std(ddof=1)),
        "spearman": float(stats.spearmanr(pred, meas)[0]),
        "spearman_se": float(np.nanstd(rho, ddof=1)),
    }


def run_space(name: str, n: int, seed: int, calibrate: int, repeats: int, boot: int) -> dict:
    specs = SPACES[name](n, seed)
    with tempfile.TemporaryDirectory() as tmp:
        table = LatencyTable(Path(tmp) / "table.json", repeats=repeats)
        m1 = np.array([table.measure_model(s) for s in specs])
        t0 = time.perf_counter()
        sums = np.array([table.block_sum(s) for s in specs])
        t_build = time.perf_counter() - t0
        m2 = np.array([table.measure_model(s) for s in specs])
        single = LatencyTable(Path(tmp) / "single.json", repeats=repeats, rounds=1)
        t0 = time.perf_counter()
        m_single = np.array([single.measure_model(s) for s in specs])
        t_measure = (time.perf_counter() - t0) / len(specs)
        t0 = time.perf_counter()
        for s in specs:
            table.predict(s)
        t_predict = (time.perf_counter() - t0) / len(specs)
        n_entries = len(table)
    rng = np.random.default_rng(seed)
    test = slice(calibrate, None)
    rows: dict[str, Any] = {}
    for kind in CORRECTIONS:
        a, b = fit_correction(sums[:calibrate], m1[:calibrate], kind)
        rows[f"table ({kind})"] = dict(
            _stats(a * sums[test] + b, m2[test], rng, boot), scale=a, offset=b
        )
    rows["measurement noise: run 1 vs run 2"] = _stats(m1[test], m2[test], rng, boot)
    rows["measurement noise: single vs run 2"] = _stats(m_single[test], m2[test], rng, boot)
    return {
        "space": name,
        "n": len(specs),
        "n_test": len(specs) - calibrate,
        "entries": n_entries,
        "build_s": t_build,
        "predict_ms": 1000 * t_predict,
        "measure_ms": 1000 * t_measure,
        "latency_ms_range": [float(m2.min()), float(np.median(m2)), float(m2.max())],
        "rows": rows,
    }


def markdown(results: list[dict], meta: dict) -> str:
    lines = [
        f"seed {meta['seed']}, {meta['n']} architectures per space ({meta['n_mbv2']} of the "
        f"MobileNetV2 family), correction fitted on the "
        f"first {meta['calibrate']}, errors over the rest vs the second measurement; "
        f"bootstrap SEs ({meta['boot']} resamples); load average "
        f"{meta['load_before']} before, {meta['load_after']} after; {meta['wall_s']:.0f} s.",
        "",
    ]
    for r in results:
        lo, med, hi = r["latency_ms_range"]
        lines += [
            f"### {r['space']}",
            "",
            f"{r['n']} models ({lo:.3f} / {med:.3f} / {hi:.3f} ms min / median / max), "
            f"table: {r['entries']} block entries built in {r['build_s']:.1f} s; "
            f"{r['predict_ms']:.2f} ms per prediction vs {r['measure_ms']:.1f} ms per "
            f"single measurement ({r['measure_ms'] / r['predict_ms']:.0f}x).",
            "",
            "| | median rel. error | 90th pct rel. error | Spearman |",
            "|---|---|---|---|",
        ]
        for name, s in r["rows"].items():
            lines.append(
                f"| {name} | {100 * s['median_rel']:.1f} % ± {100 * s['median_rel_se']:.1f} "
                f"| {100 * s['p90_rel']:.1f} % ± {100 * s['p90_rel_se']:.1f} "
                f"| {s['spearman']:.3f} ± {s['spearman_se']:.3f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="architectures per space")
    ap.add_argument("--n-mbv2", type=int, default=40, help="architectures of the MBv2 family")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--calibrate", type=int, default=5, help="models the correction is fit on")
    ap.add_argument("--repeats", type=int, default=30, help="timed runs per measurement")
    ap.add_argument("--boot", type=int, default=300, help="bootstrap resamples")
    ap.add_argument("--spaces", default=",".join(SPACES))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "nas_latency"))
    ap.add_argument("--quick", action="store_true", help="20 models per space (~1 minute)")
    args = ap.parse_args()
    if args.quick:
        args.n, args.n_mbv2, args.boot = 20, 10, 100
    st.logging.set_verbosity(st.logging.WARNING)
    logging.getLogger("slimtune").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    results = []
    for name in args.spaces.split(","):
        n = args.n_mbv2 if name == "mbv2_ref_family" else args.n
        r = run_space(name, n, args.seed, args.calibrate, args.repeats, args.boot)
        results.append(r)
        print(json.dumps({k: v for k, v in r.items() if k != "rows"}), flush=True)
    meta = {
        "seed": args.seed,
        "n": args.n,
        "n_mbv2": args.n_mbv2,
        "calibrate": args.calibrate,
        "boot": args.boot,
        "repeats": args.repeats,
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "wall_s": time.perf_counter() - t0,
        "cpu_count": os.cpu_count(),
    }
    md = markdown(results, meta)
    print(md)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    (out / "results.md").write_text(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
