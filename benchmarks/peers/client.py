"""The peer side of the protocol between benchmarks/mf_peers.py and a peer runner.

Standard library only: it runs inside a peer's own virtual environment. The harness starts
``benchmarks/.venvs/<peer>/bin/python benchmarks/peers/run_<peer>.py``, writes one JSON job
line on its stdin, then answers the runner's requests, one JSON line each way:

    job      {"method", "seed", "budget" (epochs), "max_epochs", "min_epochs", "eta",
              "space": [{"name", "type": float|int|cat, "low", "high", "log", "choices"}]}
    request  {"op": "eval", "key": str, "config": {...}, "epochs": b, "keep": bool}
    reply    {"values": [observed value after epoch a+1 .. b], "value": value at b,
              "stop": false}        or {"stop": true} once the epoch budget is spent
    request  {"op": "drop", "key": str}     (no reply: the run will not be continued)
    request  {"op": "done"}                 (no reply; the runner exits)

The harness keeps a training run per ``key``: asking again for the same key continues it
from its last epoch a (the cost is b - a epochs, the values are those of epochs a+1..b);
a new key, or b < a, trains from scratch. ``keep`` false drops the run once answered. The
harness counts the epochs and keeps the incumbent itself, so a peer cannot misreport them.
All values are minimized.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


class BudgetSpent(Exception):
    """The harness has no epochs left: finish and exit."""


class Client:
    """Reads the job and answers evaluation requests through the harness."""

    def __init__(self) -> None:
        # The protocol owns the original stdout; whatever a library prints goes to stderr.
        self._out = os.fdopen(os.dup(1), "w")
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        self.job: dict[str, Any] = json.loads(sys.stdin.readline())
        self.space: list[dict[str, Any]] = self.job["space"]

    def _send(self, msg: dict[str, Any]) -> None:
        self._out.write(json.dumps(msg) + "\n")
        self._out.flush()

    def evaluate(self, key: Any, config: dict[str, Any], epochs: int,
                 keep: bool = True) -> list[float]:
        """Values after each newly trained epoch up to ``epochs`` (raises BudgetSpent)."""
        self._send({"op": "eval", "key": str(key), "config": self.decode(config),
                    "epochs": int(epochs), "keep": keep})
        reply = json.loads(sys.stdin.readline())
        if reply.get("stop"):
            raise BudgetSpent()
        self.last = float(reply["value"])
        return [float(v) for v in reply["values"]]

    def value(self, key: Any, config: dict[str, Any], epochs: int, keep: bool = True) -> float:
        """The observed value at ``epochs`` (raises BudgetSpent)."""
        self.evaluate(key, config, epochs, keep)
        return self.last

    def drop(self, key: Any) -> None:
        self._send({"op": "drop", "key": str(key)})

    def done(self) -> None:
        self._send({"op": "done"})

    def decode(self, config: dict[str, Any]) -> dict[str, Any]:
        """Plain JSON values in the job's types (categoricals back to their choices)."""
        out: dict[str, Any] = {}
        for s in self.space:
            v = config[s["name"]]
            if s["type"] == "cat":
                v = s["choices"][[str(c) for c in s["choices"]].index(str(v))]
            elif s["type"] == "int":
                v = int(round(float(v)))
            else:
                v = float(v)
            out[s["name"]] = v
        return out

    def configspace(self, seed: int) -> Any:
        """The space as a ConfigSpace (DEHB, SMAC3); categoricals as strings."""
        import ConfigSpace as CS

        cs = CS.ConfigurationSpace(seed=seed)
        hps = []
        for s in self.space:
            if s["type"] == "cat":
                hps.append(CS.CategoricalHyperparameter(s["name"], [str(c) for c in s["choices"]]))
            elif s["type"] == "int":
                hps.append(CS.UniformIntegerHyperparameter(s["name"], s["low"], s["high"],
                                                           log=s["log"]))
            else:
                hps.append(CS.UniformFloatHyperparameter(s["name"], s["low"], s["high"],
                                                         log=s["log"]))
        cs.add_hyperparameters(hps) if hasattr(cs, "add_hyperparameters") else cs.add(hps)
        return cs
