"""slimtune's terminator evaluators next to Optuna's, on the same trials.

    python -m benchmarks.terminator_compare [--trials 40] [--seed 0]

One study (random sampler, seeded) tunes a random forest on scikit-learn's wine data with
5-fold cross-validation and reports the fold scores. Then, for growing prefixes of its
trials, the regret bound and the cross-validation error are computed by slimtune
(``slimtune.terminator``) and by Optuna (``optuna.terminator``) on the very same trials, and
whether each Terminator would stop there. Needs optuna and scikit-learn (``bench`` extra).
"""

from __future__ import annotations

import argparse
import time
import warnings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    import optuna
    import optuna.terminator as ot
    from sklearn.datasets import load_wine
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import KFold, cross_val_score

    import slimtune as st
    import slimtune.terminator as sterm

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = load_wine(return_X_y=True)

    def objective(trial: st.Trial) -> float:
        clf = RandomForestClassifier(
            n_estimators=20,
            max_depth=trial.suggest_int("max_depth", 2, 32),
            min_samples_split=trial.suggest_float("min_samples_split", 0.01, 1),
            criterion=trial.suggest_categorical("criterion", ("gini", "entropy")),
            random_state=0,
        )
        cv = KFold(n_splits=5, shuffle=True, random_state=0)
        scores = cross_val_score(clf, X, y, cv=cv)
        sterm.report_cross_validation_scores(trial, list(scores))
        return float(scores.mean())

    study = st.create_study(direction="maximize",
                            sampler=st.samplers.RandomSampler(seed=args.seed))
    study.optimize(objective, n_trials=args.trials)
    trials = study.get_trials(states=(st.TrialState.COMPLETE,))
    ours_ot = [
        optuna.trial.create_trial(
            params=t.params,
            distributions={
                "max_depth": optuna.distributions.IntDistribution(2, 32),
                "min_samples_split": optuna.distributions.FloatDistribution(0.01, 1),
                "criterion": optuna.distributions.CategoricalDistribution(("gini", "entropy")),
            },
            value=t.values[0],
            system_attrs={"terminator:cv_scores": t.system_attrs["terminator:cv_scores"]},
        )
        for t in trials
    ]
    direction = optuna.study.StudyDirection.MAXIMIZE
    print(f"wine random forest, random sampler seed {args.seed}, {len(trials)} trials\n")
    print("| trials | best | regret bound slimtune | regret bound Optuna | CV error slimtune "
          "| CV error Optuna | stop slimtune | stop Optuna | s slimtune | s Optuna |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in range(20, len(trials) + 1, 5):
        t0 = time.perf_counter()
        rb_s = sterm.RegretBoundEvaluator(seed=args.seed).evaluate(trials[:n], "maximize")
        cv_s = sterm.CrossValidationErrorEvaluator().evaluate(trials[:n], "maximize")
        t1 = time.perf_counter()
        rb_o = ot.RegretBoundEvaluator(seed=args.seed).evaluate(ours_ot[:n], direction)
        cv_o = ot.CrossValidationErrorEvaluator().evaluate(ours_ot[:n], direction)
        t2 = time.perf_counter()
        best = max(t.values[0] for t in trials[:n])
        print(f"| {n} | {best:.4f} | {rb_s:.4f} | {rb_o:.4f} | {cv_s:.4f} | {cv_o:.4f} | "
              f"{rb_s < cv_s} | {rb_o < cv_o} | {t1 - t0:.2f} | {t2 - t1:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
