"""The first design spread over log10 MACs (slimtune.nas.design)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("torch")

from slimtune.nas.design import cost_spread_design  # noqa: E402
from slimtune.nas.profile import profile_spec  # noqa: E402
from slimtune.nas.space import ArchSpace  # noqa: E402

pytestmark = pytest.mark.nas
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nas_digits.yaml"


def _arch() -> ArchSpace:
    """The space of the digits example (8x8, 1 channel, 10 classes)."""
    raw = yaml.safe_load(EXAMPLE.read_text())
    return ArchSpace(raw["model"], raw["train"], 1, 10, (8, 8))


def _macs(arch: ArchSpace, params: dict) -> float:
    import slimtune as st

    study = st.create_study()
    study.enqueue_trial(params)
    out = {}

    def obj(trial):
        values = arch.suggest(trial)
        assert trial.params == params  # the design is complete trial params
        out["m"] = float(profile_spec(arch.to_spec(values)).to_dict()["macs"])
        return 0.0

    study.optimize(obj, n_trials=1, catch=())
    return out["m"]


def test_design_spans_the_feasible_macs_range_and_is_seeded():
    arch = _arch()
    design = cost_spread_design(arch, 6, seed=1, pool=64)
    assert design == cost_spread_design(arch, 6, seed=1, pool=64)  # deterministic
    assert design != cost_spread_design(arch, 6, seed=2, pool=64)
    macs = np.log10([_macs(arch, p) for p in design])
    assert len(design) == 6 and len({tuple(sorted(p.items())) for p in design}) == 6
    # evenly spread: from the pool's smallest to its largest, no gap over twice the even one
    gaps = np.diff(np.sort(macs))
    assert gaps.max() <= 2 * (macs.max() - macs.min()) / 5 + 0.15
    # a cap leaves out the draws above it; the smallest draw is still the first pick
    cap = 10 ** np.median(macs)
    capped = cost_spread_design(arch, 6, seed=1, pool=64, caps={"max_macs": cap})
    assert all(_macs(arch, p) <= cap for p in capped)
    assert min(_macs(arch, p) for p in capped) == pytest.approx(10 ** macs.min())


def test_design_arguments_are_checked_and_few_feasible_draws_are_all_returned():
    arch = _arch()
    with pytest.raises(ValueError, match="n must be"):
        cost_spread_design(arch, 0)
    with pytest.raises(ValueError, match="pool must be"):
        cost_spread_design(arch, 8, pool=4)
    tiny = cost_spread_design(arch, 4, seed=0, pool=16, caps={"max_macs": 1.0})
    assert tiny == []  # nothing is that small
    assert math.isfinite(_macs(arch, cost_spread_design(arch, 1, seed=0, pool=8)[0]))
