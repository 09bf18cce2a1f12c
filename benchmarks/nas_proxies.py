"""Zero-cost proxies on slimtune's NAS spaces: do they rank architectures + recipes like the
trained validation score does, better than the cheap baselines (MACs, params, the score
after epoch 1 or 2)?

Protocol
* Spaces: ``examples/nas_digits.yaml`` (score: accuracy) and ``examples/nas_mnist1d.yaml``
  (score: macro-F1), each with its own data split and MACs cap (over-cap samples are drawn
  again: they are never trained in a search).
* ``--n`` configurations per space from slimtune's :class:`ArchSpace` with a
  ``RandomSampler(seed)`` study; trial ``i``'s model is initialised with ``seed + i`` (what a
  search trial does), scored by every proxy on the same seeded training batch, then trained
  with the config's recipe for ``--epochs`` epochs (one torch thread).
* Rank correlation (Spearman, Kendall) of each predictor with the final validation score,
  over all configurations and within MACs tertiles (the mean of the three bins' correlations:
  ranking at similar size is what matters for a front), with bootstrap standard errors
  (``--boot`` resamples, within bins for the binned numbers).
* Time of each proxy (median over configurations) against one training epoch.
* The rung as a search would use it (``proxy: {keep, warmup}``), replayed in sampling order:
  after ``warmup`` trials, a trial scoring below the ``1 - keep`` quantile of the scores of its
  ``neighbors`` nearest trials in log-MACs is pruned. Reported: the share pruned, and the share
  of the (score, MACs) Pareto front and of the top-10 % that the rung would have lost
  (random pruning at the same rate loses the same share as it prunes on average).

Run: ``nice -n 10 .venv/bin/python benchmarks/nas_proxies.py`` (``--quick``: a smoke run);
writes ``docs/bench/nas_proxies.md`` and ``docs/bench/nas_proxies.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import slimtune as st  # noqa: E402
import slimtune.nas.selection  # noqa: E402,F401  (registers the pick rules the configs name)
from slimtune.multiobjective import hypervolume, is_pareto_front  # noqa: E402
from slimtune.nas.config import load_config  # noqa: E402
from slimtune.nas.data import load_data  # noqa: E402
from slimtune.nas.profile import profile_spec  # noqa: E402
from slimtune.nas.proxies import PROXIES, proxy_batch, score_model  # noqa: E402
from slimtune.nas.space import ArchSpace  # noqa: E402
from slimtune.nas.spec import build_model  # noqa: E402
from slimtune.nas.train import set_seed, train_model  # noqa: E402

SPACES = {"digits": "examples/nas_digits.yaml", "mnist1d": "examples/nas_mnist1d.yaml"}
BASELINES = ("epoch1", "epoch2", "macs", "params")


def sample_space(
    name: str, n: int, epochs: int, seed: int, save: Path | None = None
) -> dict[str, Any]:
    """Sample, score and train ``n`` feasible configurations of the space ``name`` (the rows so
    far are written to ``save`` after each one, so a stopped run can be analysed)."""
    cfg = load_config(ROOT / SPACES[name])
    data = load_data(cfg.data)
    arch = ArchSpace(cfg.model, cfg.train, data.in_channels, data.num_classes, data.input_size)
    x, y = proxy_batch(data, 64, seed)
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=seed))
    cap = cfg.constraints.get("max_macs", float("inf"))
    rows: list[dict[str, Any]] = []
    i = 0
    while len(rows) < n:
        trial = study.ask()
        values = arch.suggest(trial)
        spec = arch.to_spec(values)
        prof = profile_spec(spec)
        study.tell(trial, 0.0)
        if prof.macs > cap:
            continue
        tseed = seed + i
        i += 1
        set_seed(tseed)
        model = build_model(spec)
        row: dict[str, Any] = {"macs": int(prof.macs), "params": int(prof.params)}
        times: dict[str, float] = {}
        for p in PROXIES:
            t0 = time.perf_counter()
            row[p] = score_model(p, model, x, y)
            times[p] = time.perf_counter() - t0
        tcfg = arch.to_train_config(values, epochs=epochs, seed=tseed, threads=1)
        t0 = time.perf_counter()
        res = train_model(model, data, tcfg)
        row["train_s"] = time.perf_counter() - t0
        hist = [h[cfg.score] for h in res.history]
        row["epoch1"], row["epoch2"], row["final"] = hist[0], hist[1], hist[-1]
        row["times"] = times
        rows.append(row)
        if save is not None:
            save.write_text(json.dumps({name: {"score": cfg.score, "cap": cap, "rows": rows}}))
        print(
            f"{name} {len(rows)}/{n} macs={row['macs']} {cfg.score}={row['final']:.4f} "
            f"train={row['train_s']:.1f}s",
            flush=True,
        )
    return {"score": cfg.score, "cap": cap, "rows": rows}


def _corr(a: np.ndarray, b: np.ndarray, kind: str) -> float:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    f = stats.spearmanr if kind == "spearman" else stats.kendalltau
    return float(f(a, b)[0])


def bins_of(macs: np.ndarray, k: int = 3) -> np.ndarray:
    """The MACs tertile (0..k-1) of every configuration."""
    edges = np.quantile(np.log10(macs), np.linspace(0, 1, k + 1)[1:-1])
    return np.searchsorted(edges, np.log10(macs), side="right")


def correlations(
    rows: list[dict[str, Any]], predictors: list[str], boot: int, seed: int
) -> dict[str, dict[str, float]]:
    """Spearman / Kendall (overall and within MACs tertiles) of each predictor with the final
    score, each with its bootstrap standard error."""
    final = np.array([r["final"] for r in rows])
    macs = np.array([r["macs"] for r in rows], dtype=float)
    b = bins_of(macs)
    groups = [np.flatnonzero(b == g) for g in np.unique(b)]
    rng = np.random.default_rng(seed)
    overall_idx = [rng.integers(0, len(rows), len(rows)) for _ in range(boot)]
    binned_idx = [[g[rng.integers(0, len(g), len(g))] for g in groups] for _ in range(boot)]
    out: dict[str, dict[str, float]] = {}
    for p in predictors:
        v = np.array([r[p] for r in rows], dtype=float)
        res: dict[str, float] = {}
        for kind in ("spearman", "kendall"):
            res[kind] = _corr(v, final, kind)
            res[f"{kind}_se"] = float(np.std([_corr(v[ix], final[ix], kind) for ix in overall_idx]))

            def binned(idx: list[np.ndarray], kind: str = kind, v: np.ndarray = v) -> float:
                w = np.array([len(ix) for ix in idx], dtype=float)
                c = np.array([_corr(v[ix], final[ix], kind) for ix in idx])
                return float((w * c).sum() / w.sum())

            res[f"{kind}_bin"] = binned(groups)
            res[f"{kind}_bin_se"] = float(np.std([binned(ix) for ix in binned_idx]))
        out[p] = res
    return out


def replay_rung(
    rows: list[dict[str, Any]], p: str, keep: float, warmup: int, neighbors: int
) -> dict[str, float]:
    """The proxy rung replayed in sampling order (see the module docstring)."""
    scores = np.array([r[p] for r in rows], dtype=float)
    logm = np.log10(np.array([r["macs"] for r in rows], dtype=float))
    final = np.array([r["final"] for r in rows])
    pruned = np.zeros(len(rows), dtype=bool)
    for i in range(warmup, len(rows)):
        d = np.abs(logm[:i] - logm[i])
        near = np.argsort(d, kind="stable")[:neighbors]
        pruned[i] = scores[i] < np.quantile(scores[near], 1.0 - keep)
    front = is_pareto_front(np.stack([-final, logm], axis=1))
    top = final >= np.quantile(final, 0.9)
    after = np.arange(len(rows)) >= warmup
    return {
        "pruned": float(pruned[after].mean()),
        "front_lost": float(pruned[front & after].sum() / max(1, (front & after).sum())),
        "top10_lost": float(pruned[top & after].sum() / max(1, (top & after).sum())),
        "front_after_warmup": int((front & after).sum()),
        "top10_after_warmup": int((top & after).sum()),
    }


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        "# Zero-cost proxies on slimtune's NAS spaces",
        "",
        f"`{' '.join(sys.argv[1:]) or '(defaults)'}`: {args.epochs} epochs each, "
        f"{args.boot} bootstrap resamples, analysed "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} (the configurations per space "
        "are in each heading).",
        "",
        "Rank correlation with the final validation score (accuracy on digits, macro-F1 on "
        "MNIST-1D); `bin`: the mean of the correlations within the three MACs tertiles "
        "(ranking at similar size). ± is the bootstrap standard error. MACs and params "
        "correlate positively when bigger models are better; `epoch1`/`epoch2` are the "
        "validation score after 1 / 2 epochs of the same training run (the baselines a proxy "
        "must beat to replace the first rung).",
        "",
    ]
    preds = list(PROXIES) + list(BASELINES)
    for space, res in results.items():
        c = res["corr"]
        lines += [
            f"## {space} ({res['score']}, MACs cap {res['cap']:.0f}, n={len(res['rows'])})",
            "",
            "| predictor | Spearman | Kendall | Spearman in MACs bins | Kendall in MACs bins |",
            "|---|---|---|---|---|",
        ]
        for p in preds:
            r = c[p]
            lines.append(
                f"| {p} | {r['spearman']:+.3f} ± {r['spearman_se']:.3f} "
                f"| {r['kendall']:+.3f} ± {r['kendall_se']:.3f} "
                f"| {r['spearman_bin']:+.3f} ± {r['spearman_bin_se']:.3f} "
                f"| {r['kendall_bin']:+.3f} ± {r['kendall_bin_se']:.3f} |"
            )
        ep = np.array([r["train_s"] / args.epochs for r in res["rows"]])
        lines += [
            "",
            f"Time: one training epoch median {np.median(ep) * 1e3:.0f} ms "
            f"(IQR {np.quantile(ep, 0.25) * 1e3:.0f}-{np.quantile(ep, 0.75) * 1e3:.0f} ms).",
            "",
            "| proxy | median time (ms) | 90th pct (ms) | share of one epoch |",
            "|---|---|---|---|",
        ]
        for p in PROXIES:
            t = np.array([r["times"][p] for r in res["rows"]])
            lines.append(
                f"| {p} | {np.median(t) * 1e3:.1f} | {np.quantile(t, 0.9) * 1e3:.1f} "
                f"| {np.median(t) / np.median(ep):.2f} |"
            )
        lines += [
            "",
            f"The rung replayed (keep {args.keep}, warmup {args.warmup}, {args.neighbors} "
            "nearest in log-MACs): share of trials pruned, and share of the (score, MACs) "
            "front and of the top-10 % by score that it would have pruned (a random rung "
            "loses, on average, the share it prunes).",
            "",
            "| proxy | pruned | front lost | top-10 % lost |",
            "|---|---|---|---|",
        ]
        for p, r in res["rung"].items():
            lines.append(
                f"| {p} | {r['pruned']:.2f} | {r['front_lost']:.2f} "
                f"(of {r['front_after_warmup']}) | {r['top10_lost']:.2f} "
                f"(of {r['top10_after_warmup']}) |"
            )
        lines.append("")
    return "\n".join(lines)


def _ab_arm(job: tuple[str, int, float, dict[str, Any] | None, str]) -> dict[str, Any]:
    """One search of the A/B (in its own process): the example config of ``space`` with
    ``seed``, one worker, ``timeout`` seconds, the ``proxy`` section (None: off)."""
    import tempfile

    import yaml

    from slimtune.nas.search import run_search

    space, seed, timeout, proxy, _label = job
    raw = yaml.safe_load((ROOT / SPACES[space]).read_text())
    with tempfile.TemporaryDirectory() as tmp:
        raw["study"].update(
            {"seed": seed, "n_jobs": 1, "n_trials": None, "storage": f"sqlite:///{tmp}/ab.db"}
        )
        raw["retrain"] = {"top_k": 0}
        # weights kept: the chosen model is loaded, not retrained after the timeout
        raw["output"] = {"dir": tmp, "plot": False, "export": [], "save_trial_weights": True}
        if proxy is not None:
            raw["proxy"] = proxy
        res = run_search(raw, timeout=timeout, progress=False, out_dir=tmp)
        trials = res.study.get_trials(deepcopy=False)
        t0 = min(t.datetime_start for t in trials if t.datetime_start is not None)
        score = "f1" if "f1" in raw.get("objectives", []) else "accuracy"
        rows = [
            {
                "t": (t.datetime_complete - t0).total_seconds(),
                "state": t.state.name,
                "score": t.user_attrs.get(score),
                "macs": t.user_attrs.get("macs"),
                "trained": t.state == st.TrialState.COMPLETE
                and "skipped" not in t.user_attrs
                and t.user_attrs.get(score) is not None,
                "proxy_pruned": "proxy_pruned" in t.user_attrs,
            }
            for t in trials
            if t.datetime_complete is not None
        ]
    cap = float(raw["constraints"]["max_macs"])
    return {"rows": rows, "cap": cap}


def front_hv(rows: list[dict[str, Any]], cap: float, until: float) -> float:
    """Hypervolume of the (1 - score, log10 MACs) front of the trials trained to the end by
    ``until`` seconds (reference point: score 0, the MACs cap)."""
    pts = [
        (1.0 - r["score"], math.log10(r["macs"]))
        for r in rows
        if r["trained"] and r["t"] <= until and r["macs"] <= cap
    ]
    return hypervolume(np.array(pts).reshape(-1, 2), np.array([1.0, math.log10(cap)]))


def run_ab(args: argparse.Namespace) -> str:
    """With and without the proxy rung, side by side (the two arms of one seed run at once,
    under the same load), equal wall-clock."""
    import multiprocessing as mp

    proxy = {"name": args.ab, "keep": args.keep, "warmup": args.warmup}
    seeds = [args.seed + i for i in range(args.ab_seeds)]
    out: dict[str, Any] = {}
    ctx = mp.get_context("spawn")
    for space in args.spaces.split(","):
        runs = []
        for seed in seeds:
            jobs = [
                (space, seed, args.ab_timeout, None, "off"),
                (space, seed, args.ab_timeout, proxy, "on"),
            ]
            with ctx.Pool(2) as pool:
                runs.append(dict(zip(("off", "on"), pool.map(_ab_arm, jobs))))
            print(f"A/B {space} seed {seed} done", flush=True)
        out[space] = runs
    Path(args.out + "_ab.json").write_text(json.dumps(out, indent=1))
    fr = (0.25, 0.5, 1.0)
    lines = [
        f"## A/B: the `{args.ab}` rung (keep {args.keep}, warmup {args.warmup}) on the "
        f"example search, {args.ab_timeout:.0f} s, 1 worker, seeds {seeds}",
        "",
        "Both arms of a seed ran at the same time (same load). Hypervolume of the (1 - score, "
        "log10 MACs) front of the trials trained to the end, reference point (1, log10 cap), "
        "at a quarter, half and all of the time; trials finished / trained to the end / pruned "
        "by the proxy.",
        "",
        "| space | seed | arm | HV at 1/4 | HV at 1/2 | HV at end | trials | trained "
        "| proxy-pruned |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for space, runs in out.items():
        ratios = []
        for seed, run in zip(seeds, runs):
            hv = {}
            for arm in ("off", "on"):
                rows, cap = run[arm]["rows"], run[arm]["cap"]
                hv[arm] = [front_hv(rows, cap, f * args.ab_timeout) for f in fr]
                lines.append(
                    f"| {space} | {seed} | {arm} | "
                    + " | ".join(f"{h:.3f}" for h in hv[arm])
                    + f" | {len(rows)} | {sum(r['trained'] for r in rows)} "
                    f"| {sum(r['proxy_pruned'] for r in rows)} |"
                )
            ratios.append(hv["on"][-1] / hv["off"][-1] if hv["off"][-1] > 0 else float("nan"))
        r = np.array(ratios)
        se = r.std(ddof=1) / np.sqrt(len(r)) if len(r) > 1 else float("nan")
        lines.append(f"| {space} | | on / off at end | | | {r.mean():.3f} ± {se:.3f} | | | |")
    return "\n".join(lines + [""])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=60, help="configurations per space")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--boot", type=int, default=500)
    ap.add_argument("--keep", type=float, default=0.5)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--neighbors", type=int, default=20)
    ap.add_argument("--spaces", default="digits,mnist1d")
    ap.add_argument("--quick", action="store_true", help="a smoke run (8 configs, 3 epochs)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "bench" / "nas_proxies"))
    ap.add_argument(
        "--from-json", help="re-analyse saved runs (comma-separated .json) instead of training"
    )
    ap.add_argument("--ab", help="run the A/B search with this proxy's rung vs without")
    ap.add_argument("--ab-seeds", type=int, default=2)
    ap.add_argument("--ab-timeout", type=float, default=90.0)
    args = ap.parse_args()
    if args.ab:
        md = run_ab(args)
        Path(args.out + "_ab.md").write_text(md)
        print(md)
        return
    if args.quick:
        args.n, args.epochs, args.boot, args.warmup = 8, 3, 50, 4
    if args.from_json:
        raw = {}
        for f in args.from_json.split(","):  # one or more saved runs (e.g. one per space)
            for space, res in json.loads(Path(f).read_text()).items():
                if space in raw:  # runs of one space with other seeds: pooled
                    raw[space]["rows"] += res["rows"]
                else:
                    raw[space] = res
    else:
        part = Path(args.out).with_suffix(".partial.json")
        raw = {
            s: sample_space(s, args.n, args.epochs, args.seed, part) for s in args.spaces.split(",")
        }
    results = {}
    for space, res in raw.items():
        rows = res["rows"]
        results[space] = {
            **res,
            "corr": correlations(rows, list(PROXIES) + list(BASELINES), args.boot, args.seed),
            "rung": {
                p: replay_rung(rows, p, args.keep, args.warmup, args.neighbors)
                for p in list(PROXIES) + ["epoch1"]
            },
        }
    out = Path(args.out)
    if not args.from_json:
        out.with_suffix(".json").write_text(json.dumps(raw, indent=1))
    md = report(results, args)
    out.with_suffix(".md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
