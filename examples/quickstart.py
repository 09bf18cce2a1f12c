"""Quick start: an Optuna-style objective, a SQLite study that resumes, the best trial.

Run: python examples/quickstart.py [--storage sqlite:///quickstart.db] [--n-trials 60]
"""

from __future__ import annotations

import argparse
import math

from rich.console import Console
from rich.table import Table

import slimtune as st


def objective(trial: st.Trial) -> float:
    """A synthetic 'training run': log-scaled lr, an int depth, an optimizer with a
    conditional momentum. Lower is better."""
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    layers = trial.suggest_int("layers", 1, 8)
    optimizer = trial.suggest_categorical("optimizer", ["sgd", "adam"])
    loss = (math.log10(lr) + 2.5) ** 2 + 0.05 * (layers - 4) ** 2
    if optimizer == "sgd":
        momentum = trial.suggest_float("momentum", 0.0, 0.99)
        loss += 0.5 * (momentum - 0.9) ** 2 + 0.1
    for epoch in range(1, 6):  # intermediate values, as a training loop would report them
        trial.report(loss * (1 + 1.0 / epoch), epoch)
    return loss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--storage", default="sqlite:///quickstart.db")
    ap.add_argument("--n-trials", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    study = st.create_study(
        storage=args.storage,
        study_name="quickstart",
        direction="minimize",
        sampler=st.samplers.AutoSampler(seed=args.seed),
        load_if_exists=True,
    )
    study.optimize(objective, n_trials=args.n_trials)
    best = study.best_trial
    console = Console()
    console.print(f"[bold]best value[/bold] {best.value:.5f}  [bold]params[/bold] {best.params}")
    table = Table(title=f"{len(study.trials)} trials in {args.storage}; top 5")
    for col in ("number", "value", "lr", "layers", "optimizer", "momentum"):
        table.add_column(col)
    done = [t for t in study.trials if t.state == st.TrialState.COMPLETE]
    for t in sorted(done, key=lambda t: t.value)[:5]:
        p = t.params
        table.add_row(
            str(t.number),
            f"{t.value:.5f}",
            f"{p['lr']:.2e}",
            str(p["layers"]),
            p["optimizer"],
            f"{p['momentum']:.3f}" if "momentum" in p else "-",
        )
    console.print(table)


if __name__ == "__main__":
    main()
