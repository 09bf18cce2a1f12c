"""DEHB (the ``dehb`` package, ask/tell) as a peer: runs in ``benchmarks/.venvs/dehb``.

Job option ``resume``: when DEHB promotes a configuration to a higher fidelity, continue its
training from the epochs already run (cost: the new epochs only) instead of restarting it.
Fidelities are DEHB's own geometric levels ``max * eta**-k`` rounded to whole epochs.
"""

from __future__ import annotations

import json
import logging
import tempfile
import warnings

from client import BudgetSpent, Client


def main() -> None:
    c = Client()
    job = c.job
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    from dehb import DEHB

    resume = bool(job.get("options", {}).get("resume", False))
    with tempfile.TemporaryDirectory() as tmp:
        opt = DEHB(cs=c.configspace(job["seed"]), f=lambda *a, **k: None,
                   min_fidelity=job["min_epochs"], max_fidelity=job["max_epochs"],
                   eta=job.get("eta", 3), n_workers=1, seed=job["seed"], output_path=tmp,
                   log_level="ERROR", save_freq=None)
        n = 0
        try:
            while True:
                info = opt.ask()
                cfg = dict(info["config"])
                b = max(1, int(round(info["fidelity"])))
                key = json.dumps(c.decode(cfg), sort_keys=True) if resume else f"run{n}"
                n += 1
                v = c.value(key, cfg, b, keep=resume)
                opt.tell(info, {"fitness": v, "cost": float(b)})
        except BudgetSpent:
            pass
    c.done()


if __name__ == "__main__":
    main()
