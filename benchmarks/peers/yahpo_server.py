"""YAHPO Gym LCBench surrogate as a server: runs in ``benchmarks/.venvs/yahpo``.

Reads one JSON request per line on stdin and answers one JSON line on stdout:

    {"task": "3945", "configs": [{...7 hyperparameters...}, ...], "epochs": 52}
 -> {"error": [[e_1 .. e_52], ...]}       validation error 1 - val_accuracy / 100, noise-free
    ("last_only": true gives [[e_52], ...]: the optimum estimate needs only the last epoch)

One batched surrogate call per request, so the harness can ask for whole curves of many
configurations at once (the optimum estimate asks for 20000 at a time).
"""

from __future__ import annotations

import json
import os
import sys


def _epoch_column(b, probe: dict) -> tuple[int, dict] | None:
    """Which continuous input the epoch is and its encoded value per epoch (None: unclear)."""
    import numpy as np

    xs = [b._config_to_xs({**probe, "epoch": e})[0].ravel() for e in range(1, 53)]
    diff = np.flatnonzero(np.ptp(np.vstack(xs), axis=0) > 0)
    if len(diff) != 1:
        return None
    j = int(diff[0])
    return j, {e: xs[e - 1][j] for e in range(1, 53)}


def _val_accuracy(b, rows: list[dict]) -> list[float]:
    """The surrogate's val_accuracy for each row, in one ONNX call.

    The same inputs and session as ``BenchmarkSet.objective_function``, stacked once instead
    of row by row (that loop is quadratic: 20000 rows took minutes). A configuration's inputs
    are encoded once; only the epoch column changes along its curve.
    """
    import numpy as np

    if not b.active_session or b.session is None:
        b.set_session(multithread=False)
    if not hasattr(b, "_st_epoch"):
        b._st_epoch = _epoch_column(b, rows[0])
    enc: dict[str, tuple] = {}
    conts, cats = [], []
    for r in rows:
        if b._st_epoch is None:
            xc, xk = b._config_to_xs(r)
        else:
            key = json.dumps({k: v for k, v in r.items() if k != "epoch"}, sort_keys=True)
            if key not in enc:
                enc[key] = b._config_to_xs(r)
            xc, xk = enc[key]
            j, vals = b._st_epoch
            xc = np.array(xc, copy=True)
            xc.reshape(-1)[j] = vals[int(r["epoch"])]
        conts.append(xc)
        cats.append(xk)
    x_cont, x_cat = np.vstack(conts), np.vstack(cats)
    names = [x.name for x in b.session.get_inputs()]
    out = b.session.run([b.session.get_outputs()[0].name], {names[0]: x_cat, names[1]: x_cont})[0]
    return list(out[:, b.config.y_names.index("val_accuracy")])


def main() -> None:
    out = os.fdopen(os.dup(1), "w")  # the channel; library prints go to stderr
    os.dup2(2, 1)
    from yahpo_gym import benchmark_set, local_config

    local_config.init_config()
    local_config.set_data_path(sys.argv[1])
    benches: dict[str, object] = {}
    for line in sys.stdin:
        req = json.loads(line)
        task = str(req["task"])
        if task not in benches:
            benches[task] = benchmark_set.BenchmarkSet("lcbench", instance=task)
        b = benches[task]
        n_ep = int(req.get("epochs", 52))
        eps = [n_ep] if req.get("last_only") else list(range(1, n_ep + 1))
        rows = []
        for c in req["configs"]:
            for e in eps:
                d = dict(c)
                d["OpenML_task_id"] = task
                d["epoch"] = e
                rows.append(d)
        err = [1.0 - float(v) / 100.0 for v in _val_accuracy(b, rows)] if rows else []
        k = len(eps)
        curves = [err[i * k:(i + 1) * k] for i in range(len(req["configs"]))]
        out.write(json.dumps({"error": curves}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
