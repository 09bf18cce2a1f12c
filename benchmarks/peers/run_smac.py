"""SMAC3's multi-fidelity facade (random forest + Hyperband intensifier) as a peer.

Runs in ``benchmarks/.venvs/smac``, through SMAC's ask/tell interface. SMAC's Hyperband
restarts a configuration at every budget (no checkpoints): cost = the budget asked for.
Budgets: min_budget = the job's min_epochs, max_budget = max_epochs, eta as in the job.
"""

from __future__ import annotations

import logging
import tempfile
import warnings

from client import BudgetSpent, Client


def main() -> None:
    c = Client()
    job = c.job
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    from smac import MultiFidelityFacade, Scenario
    from smac.intensifier.hyperband import Hyperband
    from smac.runhistory.dataclasses import TrialValue

    def target(config, seed: int = 0, budget: float = 1.0) -> float:  # ask/tell only
        raise RuntimeError("not called: the harness evaluates")

    with tempfile.TemporaryDirectory() as tmp:
        sc = Scenario(c.configspace(job["seed"]), deterministic=True, n_trials=10**6,
                      min_budget=job["min_epochs"], max_budget=job["max_epochs"],
                      seed=job["seed"], output_directory=tmp)
        smac = MultiFidelityFacade(
            sc, target, overwrite=True, logging_level=40,
            intensifier=Hyperband(sc, eta=job.get("eta", 3), incumbent_selection="highest_budget"))
        n = 0
        try:
            while True:
                info = smac.ask()
                b = max(1, int(round(info.budget)))
                v = c.value(f"run{n}", dict(info.config), b, keep=False)
                n += 1
                smac.tell(info, TrialValue(cost=v, time=float(b)))
        except BudgetSpent:
            pass
    c.done()


if __name__ == "__main__":
    main()
