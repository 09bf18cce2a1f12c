"""The figures: names on every axis, log axes where values span decades, the chosen trial
starred and labelled, infeasible trials apart, failure reasons, and tick labels that do not
overlap (checked on the drawn figure)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import slimtune as st

pytest.importorskip("matplotlib")

from slimtune.viz import plots  # noqa: E402


def _tick_boxes(fig, ax, axis):
    r = fig.canvas.get_renderer()
    labels = getattr(ax, f"get_{axis}ticklabels")()
    lo, hi = sorted(getattr(ax, f"get_{axis}lim")())
    out = []
    for lab, loc in zip(labels, getattr(ax, f"get_{axis}ticks")()):
        if lab.get_visible() and lab.get_text() and lo <= loc <= hi:
            out.append(lab.get_window_extent(r))
    return out


def assert_no_overlapping_ticks(fig):
    """No two visible tick labels of any axis share a pixel."""
    fig.canvas.draw()
    for ax in fig.axes:
        for axis in ("x", "y"):
            boxes = _tick_boxes(fig, ax, axis)
            for a, b in itertools.combinations(boxes, 2):
                assert not a.overlaps(b), (axis, ax.get_xlabel(), ax.get_ylabel())


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def _legend(ax):
    leg = ax.get_legend()
    return [] if leg is None else [t.get_text() for t in leg.get_texts()]


def _stars(ax):
    return [
        c
        for c in ax.collections
        if "*" in str(c.get_label()) or c.get_sizes().size and c.get_sizes()[0] >= 200
    ]


def test_use_log_scale_rules():
    assert not plots.use_log_scale(np.linspace(0.05, 0.95, 10), "accuracy")
    assert plots.use_log_scale([2e4, 6e4, 4e5], "macs")
    assert plots.use_log_scale([2e4, 4e5])  # counts over a decade
    assert plots.use_log_scale([1e-4, 3e-2, 0.5], "loss")  # over two decades
    assert plots.use_log_scale([0.3, 4.0], "latency_ms")  # a decade, a cost by name
    assert not plots.use_log_scale([0.3, 4.0], "score")
    assert not plots.use_log_scale([-1.0, 100.0])
    assert not plots.use_log_scale([5.0])


def test_short_number():
    assert [plots.short_number(v) for v in (2e4, 1.5e6, 3e9, 250.0, 0.001, 1e-5)] == [
        "20k",
        "1.5M",
        "3G",
        "250",
        "0.001",
        "1e-5",
    ]


def test_history_single_objective(single_study):
    fig = plots.plot_optimization_history(single_study)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "trial" and ax.get_ylabel() == "value (minimize)"
    best = single_study.best_trial.number
    assert f"best: trial {best}" in _texts(fig)
    assert f"best: trial {best}" in _legend(ax)
    assert ax.get_yscale() == "linear"
    assert_no_overlapping_ticks(fig)


def test_slice_scales_and_marks(single_study):
    fig = plots.plot_slice(single_study)
    by_name = {ax.get_xlabel(): ax for ax in fig.axes if ax.get_xlabel()}
    assert set(by_name) == {"layers", "lr", "optimizer"}
    assert by_name["lr"].get_xscale() == "log"
    assert by_name["layers"].get_xscale() == "linear"
    ticks = by_name["layers"].get_xticks()
    assert np.allclose(ticks, np.round(ticks))  # an int parameter gets whole-number ticks
    assert [t.get_text() for t in by_name["optimizer"].get_xticklabels()] == [
        "adam",
        "rmsprop",
        "sgd",
    ]
    assert fig.axes[0].get_ylabel() == "value"
    assert all(len(_stars(ax)) == 1 for ax in by_name.values())  # best trial in every panel
    assert "best: trial" in fig._suptitle.get_text()
    assert_no_overlapping_ticks(fig)


def test_intermediate_values(single_study):
    fig = plots.plot_intermediate_values(single_study)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "intermediate value"
    assert len(ax.get_lines()) == len(single_study.trials)
    assert_no_overlapping_ticks(fig)


def test_pareto_front_names_log_and_chosen(two_study):
    chosen = two_study.best_trials[0].number
    fig = plots.plot_pareto_front(two_study, chosen=chosen)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "accuracy (maximize)"
    assert ax.get_ylabel() == "macs (minimize)"
    assert ax.get_yscale() == "log" and ax.get_xscale() == "linear"
    assert f"chosen: trial {chosen}" in _texts(fig)
    legend = _legend(ax)
    n_off = sum(max(t.constraints) > 0 for t in two_study.trials)  # macs over 2e7: off view
    assert n_off >= 1
    assert "Pareto front" in legend and f"infeasible ({n_off} off the axes)" in legend
    # the front line holds exactly the feasible Pareto trials
    front = ax.get_lines()[0]
    assert len(front.get_xdata()) == len(two_study.best_trials)
    assert_no_overlapping_ticks(fig)


def test_pareto_front_star_only_when_a_choice_exists(two_study):
    fig = plots.plot_pareto_front(two_study)
    assert not any("trial" in t for t in _texts(fig))  # no choice recorded: no star
    s = st.create_study(directions=two_study.directions, storage=None)
    s.set_metric_names(["accuracy", "macs"])
    for t in two_study.trials:
        s.add_trial(t)
    pick = s.best_trials[-1].number
    s.set_user_attr(plots.CHOSEN_TRIAL_ATTR, pick)
    assert f"chosen: trial {pick}" in _texts(plots.plot_pareto_front(s))
    assert f"chosen: trial {pick}" in _texts(plots.plot_optimization_history(s, 1))


def test_history_of_a_cost_uses_a_log_axis(two_study):
    fig = plots.plot_optimization_history(two_study, objective=1)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "macs (minimize)" and ax.get_yscale() == "log"
    assert any(lab.startswith("infeasible") for lab in _legend(ax))
    assert_no_overlapping_ticks(fig)


def test_infeasible_placeholders_do_not_squash_the_view():
    """Over-budget NAS models are stored with score 0: the view is set by feasible trials."""
    s = st.create_study(directions=["maximize", "minimize"])
    s.set_metric_names(["f1", "latency_ms"])
    for k in range(12):
        t = s.ask()
        over = k % 3 == 0
        t.set_constraints([1.0 if over else -1.0])
        s.tell(t, [0.0, 50.0] if over else [0.8 + 0.01 * k, 0.5 + 0.4 * k])
    fig = plots.plot_pareto_front(s)
    ax = fig.axes[0]
    assert ax.get_xlim()[0] > 0.7 and ax.get_ylim()[1] < 50
    assert "infeasible (4 off the axes)" in _legend(ax)
    hist = plots.plot_optimization_history(s, 0).axes[0]
    assert hist.get_ylim()[0] > 0.7
    sl = plots.plot_slice(s)
    assert not sl.axes[0].get_xlabel()  # no parameters: one panel saying so


def test_chosen_trial_errors(two_study, failed_study):
    with pytest.raises(ValueError, match="trial 999 is not in study"):
        plots.chosen_trial(two_study, 999)
    with pytest.raises(ValueError, match="is FAIL, not COMPLETE"):
        plots.chosen_trial(failed_study, 0)
    assert plots.chosen_trial(failed_study) == (None, "")
    with pytest.raises(ValueError, match="at least two objectives"):
        plots.plot_pareto_front(failed_study)


def test_all_failed_study_shows_reasons_not_empty_plots(failed_study):
    groups = plots.failure_reasons(failed_study)
    assert [g[0].split(":")[0] for g in groups] == ["RuntimeError", "ValueError"]
    assert sum(g[1] for g in groups) == 9 and groups[0][1] >= groups[1][1]
    fig = plots.plot_failures(failed_study)
    ax = fig.axes[0]
    assert [round(p.get_width()) for p in ax.patches] == [g[1] for g in groups]
    assert ax.get_xlabel() == "failed trials"
    assert "9 of 9 trials failed" in ax.get_title()
    assert "CUDA out of memory" in ax.get_yticklabels()[0].get_text()
    assert_no_overlapping_ticks(fig)
    hist = plots.plot_optimization_history(failed_study)
    assert any("9 trial(s) failed" in t for t in _texts(hist))


def test_failures_beyond_max_reasons_are_grouped():
    s = st.create_study()
    for k in range(6):
        t = s.ask()
        t.set_system_attr("fail_reason", f"error number {k}")
        s.tell(t, state=st.TrialState.FAIL)
    fig = plots.plot_failures(s, max_reasons=3)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 3 and labels[-1] == "4 other reasons"


def test_many_categories_and_long_names_do_not_crowd():
    s = st.create_study(sampler=st.samplers.RandomSampler(seed=4))
    choices = [f"a_long_choice_name_{k}" for k in range(20)]
    s.optimize(lambda t: len(t.suggest_categorical("block", choices)), n_trials=40)
    fig = plots.plot_slice(s)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert 1 < len(labels) <= 8 and all(len(lab) <= 12 for lab in labels)
    assert_no_overlapping_ticks(fig)


def test_overlap_check_catches_crowded_ticks():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_xticks(range(30), [f"label {k}" for k in range(30)])
    with pytest.raises(AssertionError):
        assert_no_overlapping_ticks(fig)
    plt.close(fig)
