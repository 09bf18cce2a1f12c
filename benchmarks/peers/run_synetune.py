"""syne-tune 0.13 schedulers as peers: runs in ``benchmarks/.venvs/synetune``.

One worker, simulated here: the scheduler's own ``suggest`` / ``on_trial_add`` /
``on_trial_result`` / ``on_trial_complete`` calls, one result per epoch, as its local backend
would make them. A paused trial that is resumed continues from its last epoch (the harness
keeps the run: cost = the new epochs only). Job option ``scheduler``:

  asha          ASHA, type="stopping" (a trial stopped at a rung is never resumed)
  asha-promo    ASHA, type="promotion" (trials pause at rungs and are promoted later)
  hypertune     HyperTune (Li et al. 2022), brackets = the number of rung levels
  mobster       MOBSTER (GP multi-task searcher), type="stopping"
  dyhpo         DyHPO (syne-tune's variant: GP surrogate, linear rungs, SH hybrid)

Rungs: grace_period = the job's min_epochs, reduction_factor = its eta, max_t = max_epochs.
``points_to_evaluate=[]``: no first trial at the middle of the space (syne-tune's default),
as the other methods start at random too (on ``lc`` the midpoint is near the optimum).
"""

from __future__ import annotations

import logging
import math
import warnings
from datetime import datetime

from client import BudgetSpent, Client


def space(c: Client) -> dict:
    from syne_tune.config_space import choice, lograndint, loguniform, randint, uniform

    out: dict = {}
    for s in c.space:
        if s["type"] == "cat":
            out[s["name"]] = choice([str(x) for x in s["choices"]])
        elif s["type"] == "int":
            out[s["name"]] = (lograndint if s["log"] else randint)(s["low"], s["high"])
        else:
            out[s["name"]] = (loguniform if s["log"] else uniform)(s["low"], s["high"])
    out["epochs"] = c.job["max_epochs"]
    return out


def scheduler(c: Client):
    from syne_tune.optimizer import baselines as B

    job = c.job
    name = job["options"]["scheduler"]
    mx, mn, eta = job["max_epochs"], job["min_epochs"], job.get("eta", 3)
    kw = dict(metric="loss", mode="min", resource_attr="epoch", max_resource_attr="epochs",
              random_seed=job["seed"], grace_period=mn, points_to_evaluate=[])
    levels = int(math.floor(math.log(mx / mn, eta) + 1e-9)) + 1
    cs = space(c)
    if name == "asha":
        return B.ASHA(cs, type="stopping", reduction_factor=eta, **kw)
    if name == "asha-promo":
        return B.ASHA(cs, type="promotion", reduction_factor=eta, **kw)
    if name == "hypertune":
        return B.HyperTune(cs, reduction_factor=eta, brackets=levels, **kw)
    if name == "mobster":
        return B.MOBSTER(cs, type="stopping", reduction_factor=eta, **kw)
    if name == "dyhpo":
        return B.DyHPO(cs, **kw)
    raise ValueError(f"unknown syne-tune scheduler {name!r}")


def main() -> None:
    c = Client()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    from syne_tune.backend.trial_status import Trial
    from syne_tune.optimizer.scheduler import SchedulerDecision

    sched = scheduler(c)
    mx = c.job["max_epochs"]
    trials: dict[int, list] = {}  # id -> [Trial, epochs done]
    new_id = 0
    try:
        while True:
            sug = sched.suggest(new_id)
            if sug is None:
                break
            if sug.spawn_new_trial_id:
                tid = new_id
                new_id += 1
                trial = Trial(trial_id=tid, config=sug.config, creation_time=datetime.now())
                trials[tid] = [trial, 0]
                sched.on_trial_add(trial)
            else:
                tid = sug.checkpoint_trial_id
                trial = trials[tid][0]
                if sug.config is not None:
                    trial.config = sug.config
            limit = min(int(trial.config.get("epochs", mx)), mx)
            cfg = {k: v for k, v in trial.config.items() if k != "epochs"}
            decision, res = SchedulerDecision.CONTINUE, None
            while trials[tid][1] < limit and decision == SchedulerDecision.CONTINUE:
                e = trials[tid][1] + 1
                v = c.value(f"t{tid}", cfg, e)
                trials[tid][1] = e
                res = {"epoch": e, "loss": v, "epochs": trial.config.get("epochs", mx)}
                decision = sched.on_trial_result(trial, res)
            if decision == SchedulerDecision.STOP or trials[tid][1] >= mx:
                c.drop(f"t{tid}")
                if decision == SchedulerDecision.CONTINUE:
                    sched.on_trial_complete(trial, res)
            elif decision == SchedulerDecision.CONTINUE and res is not None:
                sched.on_trial_complete(trial, res)  # ran to its milestone: it ends paused
    except BudgetSpent:
        pass
    c.done()


if __name__ == "__main__":
    main()
