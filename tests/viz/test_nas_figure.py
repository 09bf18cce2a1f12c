"""The NAS search's ``pareto.png``: the cost objective on the x axis (latency when latency
is the objective), a log axis when the costs span a decade, the chosen model starred."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("torch")

from slimtune.multiobjective import is_pareto_front, to_losses  # noqa: E402
from slimtune.nas.outputs import front_figure, plot_front  # noqa: E402
from slimtune.nas.selection import Candidate  # noqa: E402

from .test_plots import assert_no_overlapping_ticks  # noqa: E402

pytestmark = pytest.mark.nas


def _cands(cost: str, n: int = 24, seed: int = 0) -> list[Candidate]:
    rng = np.random.default_rng(seed)
    macs = np.exp(rng.uniform(np.log(1.5e4), np.log(4e5), n)).astype(int)
    lat = macs / 1e5 * rng.uniform(0.6, 1.4, n)  # ms, correlated with MACs
    f1 = 0.6 + 0.05 * np.log(macs / 1e4) + rng.normal(0, 0.02, n)
    out = [
        Candidate(
            number=k,
            accuracy=float(f1[k]) + 0.01,
            f1=float(f1[k]),
            macs=int(macs[k]),
            params=int(macs[k] // 20),
            latency_ms=float(lat[k]),
            spec={},
            params_values={},
        )
        for k in range(n)
    ]
    c = {"macs": macs, "latency": lat, "params": macs // 20}[cost]
    front = is_pareto_front(to_losses(np.c_[f1, c].astype(float), ["maximize", "minimize"]))
    for cand, m in zip(out, front):
        cand.on_front = bool(m)
    return out


def _texts(fig):
    return [t.get_text() for t in fig.axes[0].texts]


def test_latency_objective_puts_latency_on_the_x_axis():
    cands = _cands("latency")
    chosen = next(c for c in cands if c.on_front)
    fig = front_figure(cands, ("f1", "latency"), chosen)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "latency (ms)" and ax.get_ylabel() == "validation F1"
    assert ax.get_xscale() == "log"  # 0.1 .. 5 ms spans more than a decade
    front = ax.get_lines()[0]
    assert np.allclose(sorted(front.get_xdata()), sorted(c.latency_ms for c in cands if c.on_front))
    assert f"chosen: trial {chosen.number}" in _texts(fig)
    assert_no_overlapping_ticks(fig)


def test_macs_objective_log_axis_and_short_ticks():
    cands = _cands("macs")
    fig = front_figure(cands, ("accuracy", "macs"), None)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "MACs" and ax.get_xscale() == "log"
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and all(len(s) <= 4 for s in labels)  # "20k", "100k": no long numbers
    assert _texts(fig) == []  # nothing chosen, no star
    assert_no_overlapping_ticks(fig)


def test_params_objective_and_score_only_search(tmp_path):
    cands = _cands("params")
    assert front_figure(cands, ("accuracy", "params")).axes[0].get_xlabel() == "parameters"
    fig = front_figure(cands, ("accuracy",), cands[3])
    assert fig.axes[0].get_xlabel() == "MACs (not an objective)"
    assert "best accuracy" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    p = plot_front(cands, tmp_path / "pareto.png", ("accuracy", "macs"), cands[0])
    assert p is not None and p.stat().st_size > 1000
    assert plot_front([], tmp_path / "none.png") is None


def test_search_names_objectives_stars_the_chosen_and_records_it(tmp_path, monkeypatch):
    """A tiny latency search: metric names set, chosen_trial recorded, pareto.png written
    after the pick; the report of that study stars the same trial."""
    import copy

    import slimtune as st
    from slimtune.nas import search as S
    from slimtune.nas.data import load_digits
    from slimtune.viz import chosen_trial

    cfg = {
        "study": {"name": "figs", "n_trials": 3, "seed": 0},
        "data": {"name": "digits"},
        "objectives": ["f1", "latency"],
        "sampler": {"name": "RandomSampler"},
        "model": {
            "channel_divisor": 4,
            "stem": {"c2": [4, 8], "k": 3, "s": 1},
            "stages": [{"block": ["DWSConv", "Conv"], "depth": 1, "c2": [8, 16], "s": 2}],
        },
        "train": {"optimizer": "adam", "lr": 0.01, "batch_size": 64},
        "fidelity": {"epochs": 1, "subset": 0.3},
        "output": {"plot": True, "export": []},
    }
    drawn = []

    def spy(cands, path, objectives=("accuracy", "macs"), chosen=None):
        drawn.append((tuple(objectives), None if chosen is None else chosen.number))
        return plot_front(cands, path, objectives, chosen)

    monkeypatch.setattr(S, "plot_front", spy)
    res = S.run_search(
        copy.deepcopy(cfg),
        storage=f"sqlite:///{tmp_path}/f.db",
        out_dir=tmp_path / "out",
        progress=False,
        data=load_digits(seed=0),
    )
    study = st.load_study(study_name="figs", storage=f"sqlite:///{tmp_path}/f.db")
    assert study.metric_names == ["f1", "latency_ms"]
    assert res.chosen is not None
    assert study.user_attrs["chosen_trial"] == res.chosen.number
    assert chosen_trial(study)[1] == f"chosen: trial {res.chosen.number}"
    assert (tmp_path / "out" / "pareto.png").stat().st_size > 1000
    assert drawn[-1] == (("f1", "latency"), res.chosen.number)  # drawn last with the star
