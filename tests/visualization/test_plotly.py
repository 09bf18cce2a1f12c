"""slimtune.visualization: the plotly figures carry Optuna's titles, axes and traces for
the same trials, show the same numbers, open offline, and name user mistakes."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

import slimtune as st
import slimtune.visualization as vis
from slimtune.importance import PedAnovaImportanceEvaluator

pytest.importorskip("plotly")


def _axis_titles(fig):
    out = {}
    for k in ("xaxis", "yaxis"):
        a = getattr(fig.layout, k, None)
        out[k] = a.title.text if a is not None else None
    return out


def _named(fig):
    return sorted({(tr.type, tr.name) for tr in fig.data if tr.name})


def test_is_available():
    assert vis.is_available() is True
    assert vis.matplotlib.is_available() is True


def test_optimization_history_matches_optuna(single, twin, optuna_mod):
    ours = vis.plot_optimization_history(single)
    theirs = optuna_mod.visualization.plot_optimization_history(twin)
    assert ours.layout.title.text == theirs.layout.title.text == "Optimization History Plot"
    assert _axis_titles(ours) == _axis_titles(theirs)
    assert _named(ours) == _named(theirs)
    for name in ("Objective Value", "Best Value"):
        a = next(t for t in ours.data if t.name == name)
        b = next(t for t in theirs.data if t.name == name)
        np.testing.assert_allclose(a.x, b.x)
        np.testing.assert_allclose(a.y, b.y)


def test_history_of_several_studies_and_error_bars(single, twin, optuna_mod):
    ours = vis.plot_optimization_history([single, single], error_bar=True)
    theirs = optuna_mod.visualization.plot_optimization_history([twin, twin], error_bar=True)
    assert _named(ours) == _named(theirs)
    a = next(t for t in ours.data if t.name == "Objective Value")
    assert np.allclose(a.error_y.array, 0.0)  # the same study twice: no spread
    plain = vis.plot_optimization_history([single, single])
    assert "Objective Value of single" in {t.name for t in plain.data}
    custom = vis.plot_optimization_history(single, target=lambda t: -t.value, target_name="neg")
    assert "Best Value" not in {t.name for t in custom.data}
    assert custom.layout.yaxis.title.text == "neg"


def test_metric_names_label_the_figures():
    st.logging.set_verbosity(st.logging.WARNING)
    s = st.create_study(sampler=st.samplers.RandomSampler(seed=1))
    s.set_metric_names(["accuracy"])
    s.optimize(lambda t: t.suggest_float("x", 0, 1) + 0.1 * t.suggest_float("y", 0, 1), n_trials=12)
    st.logging.set_verbosity(st.logging.INFO)
    assert vis.plot_optimization_history(s).layout.yaxis.title.text == "accuracy"
    assert vis.plot_slice(s).layout.yaxis.title.text == "accuracy"
    assert vis.plot_edf(s).layout.xaxis.title.text == "accuracy"
    assert vis.plot_rank(s).layout.title.text == "Rank (accuracy)"
    assert vis.plot_param_importances(s).data[0].name == "accuracy"
    pc = vis.plot_parallel_coordinate(s)
    assert pc.data[0].dimensions[0].label == "accuracy"
    # an explicit target_name wins
    assert vis.plot_slice(s, target_name="acc").layout.yaxis.title.text == "acc"


def test_slice_matches_optuna(single, twin, optuna_mod):
    ours = vis.plot_slice(single, params=["x", "lr", "c"])
    theirs = optuna_mod.visualization.plot_slice(twin, params=["x", "lr", "c"])
    assert ours.layout.title.text == theirs.layout.title.text
    assert len(ours.data) == len(theirs.data)
    # Optuna orders the panels by name; compare panel by parameter
    ours_by = {
        ours.layout[f"xaxis{'' if i == 0 else i + 1}"].title.text: tr
        for i, tr in enumerate(ours.data)
    }
    theirs_by = {
        theirs.layout[f"xaxis{'' if i == 0 else i + 1}"].title.text: tr
        for i, tr in enumerate(theirs.data)
    }
    assert set(ours_by) == set(theirs_by) == {"x", "lr", "c"}
    for p in ("x", "lr"):
        assert sorted(ours_by[p].x) == pytest.approx(sorted(theirs_by[p].x))
        assert sorted(ours_by[p].y) == pytest.approx(sorted(theirs_by[p].y))
    assert ours.layout.xaxis2.type == "log"  # lr
    assert ours.layout.xaxis3.type == "category"  # c


def test_contour_matches_optuna_layout(single, twin, optuna_mod):
    ours = vis.plot_contour(single, params=["x", "lr"])
    theirs = optuna_mod.visualization.plot_contour(twin, params=["x", "lr"])
    assert ours.layout.title.text == theirs.layout.title.text == "Contour Plot"
    assert _axis_titles(ours) == _axis_titles(theirs)
    assert ours.layout.xaxis.type == theirs.layout.xaxis.type == "log"
    assert [t.type for t in ours.data] == [t.type for t in theirs.data]
    z = np.asarray(ours.data[0].z, dtype=float)
    assert z.shape == (100, 100) and np.isfinite(z).all()
    vals = [t.value for t in single.trials]
    assert min(vals) - 1e-9 <= z.min() and z.max() <= max(vals) + 1e-9
    grid = vis.plot_contour(single, params=["x", "lr", "c"])
    assert sum(t.type == "contour" for t in grid.data) == 6  # every ordered pair


def test_contour_of_one_parameter_is_empty_with_a_warning(single, caplog):
    with caplog.at_level("WARNING", logger="slimtune"):
        fig = vis.plot_contour(single, params=["x"])
    assert len(fig.data) == 0 and fig.layout.title.text == "Contour Plot"
    assert "at least 2 parameter" in caplog.text


@pytest.mark.parametrize("backend", ["plotly", "matplotlib"])
def test_every_figure_of_an_empty_study_draws(backend):
    import matplotlib.pyplot as plt

    mod = vis if backend == "plotly" else vis.matplotlib
    empty = st.create_study()
    two = st.create_study(directions=["minimize", "minimize"])
    for f in (
        mod.plot_optimization_history,
        mod.plot_slice,
        mod.plot_contour,
        mod.plot_parallel_coordinate,
        mod.plot_param_importances,
        mod.plot_intermediate_values,
        mod.plot_edf,
        mod.plot_rank,
        mod.plot_timeline,
    ):
        f(empty)
    mod.plot_pareto_front(two)
    mod.plot_hypervolume_history(two, [1.0, 1.0])
    plt.close("all")


def test_parallel_coordinate(single):
    fig = vis.plot_parallel_coordinate(single)
    assert fig.layout.title.text == "Parallel Coordinate Plot"
    dims = fig.data[0].dimensions
    assert [d.label for d in dims] == ["Objective Value", "c", "lr", "n", "x"]
    lr = dims[2]
    assert all(-4 <= v <= 0 for v in lr["values"])  # log10 of the learning rate
    assert list(dims[1].ticktext) == ["a", "b"]


def test_param_importances_match_optuna(single, twin, optuna_mod):
    ours = vis.plot_param_importances(single, evaluator=PedAnovaImportanceEvaluator())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = optuna_mod.visualization.plot_param_importances(
            twin, evaluator=optuna_mod.importance.PedAnovaImportanceEvaluator()
        )
    assert ours.layout.title.text == theirs.layout.title.text
    assert _axis_titles(ours) == _axis_titles(theirs)
    a = dict(zip(ours.data[0].y, ours.data[0].x))
    b = dict(zip(theirs.data[0].y, theirs.data[0].x))
    assert set(a) == set(b)
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=1e-6, abs=1e-12)
    assert list(ours.data[0].y)[-1] == list(theirs.data[0].y)[-1]  # the top bar


def test_param_importances_of_several_objectives_one_series_each(multi):
    fig = vis.plot_param_importances(multi)
    assert [t.name for t in fig.data] == ["Objective Value 0", "Objective Value 1"]  # Optuna's
    one = vis.plot_param_importances(multi, target=lambda t: t.values[0], target_name="first")
    assert [t.name for t in one.data] == ["first"]


def test_pareto_front_matches_optuna_and_greys_infeasible(multi, twin_multi, optuna_mod):
    ours = vis.plot_pareto_front(multi)
    theirs = optuna_mod.visualization.plot_pareto_front(twin_multi)
    assert ours.layout.title.text == theirs.layout.title.text == "Pareto-front Plot"
    assert (
        _axis_titles(ours)
        == _axis_titles(theirs)
        == {"xaxis": "Objective 0", "yaxis": "Objective 1"}
    )
    # the stored constraints (x <= 0.7) decide feasibility, as in Optuna 5
    cf = lambda t: [t.params["x"] - 0.7]  # noqa: E731
    ours_c = vis.plot_pareto_front(multi, constraints_func=cf)
    theirs_c = optuna_mod.visualization.plot_pareto_front(twin_multi, constraints_func=cf)

    def best(fig):
        tr = next(t for t in fig.data if t.marker.colorbar.title.text == "Best Trial")
        return np.array(sorted(zip(tr.x, tr.y)))

    np.testing.assert_allclose(best(ours), best(theirs))
    np.testing.assert_allclose(best(ours), best(theirs_c))
    np.testing.assert_allclose(best(ours_c), best(theirs_c))
    grey = [t for t in ours.data if t.marker.color == "#cccccc"]
    assert grey and all(x > 0.7 for x in grey[0].x)
    nodom = vis.plot_pareto_front(multi, include_dominated_trials=False)
    assert sum(len(t.x) for t in nodom.data) == len(best(ours))


def test_pareto_front_targets_names_and_3d(multi):
    fig = vis.plot_pareto_front(
        multi, targets=lambda t: (t.values[1], t.values[0]), target_names=["b", "a"]
    )
    assert fig.layout.xaxis.title.text == "b"
    three = vis.plot_pareto_front(multi, targets=lambda t: (*t.values, t.params["y"]))
    assert three.data[-1].type == "scatter3d"
    assert three.layout.scene.zaxis.title.text == "Objective 2"
    with pytest.raises(ValueError, match="target_names"):
        vis.plot_pareto_front(multi, target_names=["only one"])
    st.logging.set_verbosity(st.logging.WARNING)
    named = st.create_study(directions=["minimize", "maximize"])
    named.set_metric_names(["err", "size"])
    named.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), n_trials=6)
    st.logging.set_verbosity(st.logging.INFO)
    fig = vis.plot_pareto_front(named)
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("err", "size")


def test_intermediate_values_and_edf_match_optuna(single, twin, optuna_mod):
    ours = vis.plot_intermediate_values(single)
    theirs = optuna_mod.visualization.plot_intermediate_values(twin)
    assert ours.layout.title.text == theirs.layout.title.text
    assert _axis_titles(ours) == _axis_titles(theirs)
    assert [t.name for t in ours.data] == [t.name for t in theirs.data]
    ours = vis.plot_edf(single)
    theirs = optuna_mod.visualization.plot_edf(twin)
    assert ours.layout.title.text == theirs.layout.title.text
    assert _axis_titles(ours) == _axis_titles(theirs)
    np.testing.assert_allclose(ours.data[0].x, theirs.data[0].x)
    np.testing.assert_allclose(ours.data[0].y, theirs.data[0].y)


def test_rank(single, twin, optuna_mod):
    ours = vis.plot_rank(single, params=["x", "lr"])
    theirs = optuna_mod.visualization.plot_rank(twin, params=["x", "lr"])
    assert ours.layout.title.text == theirs.layout.title.text == "Rank (Objective Value)"
    assert _axis_titles(ours) == _axis_titles(theirs)
    assert ours.layout.yaxis.type == "log"
    best = min(single.trials, key=lambda t: t.value)
    tr = ours.data[0]
    i = list(tr.x).index(best.params["x"])
    assert tr.marker.color[i] == 0.0  # the best trial has rank 0
    assert len(vis.plot_rank(single, params=["x", "lr", "c"]).data) == 9
    assert len(vis.plot_rank(single, params=["x"]).data) == 1


def test_timeline_states_and_recent_trials():
    st.logging.set_verbosity(st.logging.WARNING)
    s = st.create_study(sampler=st.samplers.RandomSampler(seed=0))

    def f(t):
        x = t.suggest_float("x", 0, 1)
        if x > 0.6:
            raise st.TrialPruned()
        return x

    s.optimize(f, n_trials=10)
    st.logging.set_verbosity(st.logging.INFO)
    fig = vis.plot_timeline(s)
    assert fig.layout.title.text == "Timeline Plot"
    assert fig.layout.xaxis.title.text == "Datetime" and fig.layout.yaxis.title.text == "Trial"
    assert {t.name for t in fig.data} == {"COMPLETE", "PRUNED"}
    assert sum(len(t.y) for t in vis.plot_timeline(s, n_recent_trials=3).data) == 3
    with pytest.raises(ValueError, match="n_recent_trials"):
        vis.plot_timeline(s, n_recent_trials=0)
    optuna = pytest.importorskip("optuna")
    from benchmarks.importance import to_optuna_study

    theirs = optuna.visualization.plot_timeline(to_optuna_study(s))
    assert _axis_titles(fig) == _axis_titles(theirs)
    assert fig.layout.xaxis.type == theirs.layout.xaxis.type == "date"
    for ours_bar in fig.data:
        their_bar = next(t for t in theirs.data if t.name == ours_bar.name)
        assert ours_bar.orientation == their_bar.orientation == "h"
        assert list(ours_bar.y) == list(their_bar.y)
        np.testing.assert_allclose(ours_bar.x, their_bar.x, atol=1e-3)  # milliseconds


def test_hypervolume_history_matches_optuna(multi, twin_multi, optuna_mod):
    ours = vis.plot_hypervolume_history(multi, [2.0, 2.0])
    theirs = optuna_mod.visualization.plot_hypervolume_history(twin_multi, [2.0, 2.0])
    assert ours.layout.title.text == theirs.layout.title.text
    assert _axis_titles(ours) == _axis_titles(theirs)
    assert np.all(np.diff(ours.data[0].y) >= 0)
    # both count feasible trials only (the stored constraints)
    np.testing.assert_allclose(ours.data[0].y, theirs.data[0].y, atol=1e-12)
    with pytest.raises(ValueError, match="one per objective"):
        vis.plot_hypervolume_history(multi, [1.0])


def test_terminator_improvement_with_given_evaluators(single):
    class Gap:  # the improvement API of Optuna's terminator: evaluate(trials, direction)
        def evaluate(self, trials, study_direction):
            assert study_direction == "minimize"
            return float(len(trials))

    fig = vis.plot_terminator_improvement(
        single, plot_error=True, improvement_evaluator=Gap(), error_evaluator=Gap(), min_n_trials=5
    )
    assert fig.layout.title.text == "Terminator Improvement Plot"
    early, late, err = fig.data
    assert list(early.y) == [1, 2, 3, 4, 5] and early.opacity < 1
    assert list(late.y)[0] == 6 and err.name == "Error"
    if importlib.util.find_spec("slimtune.terminator") is None:
        with pytest.raises(ImportError, match="improvement_evaluator="):
            vis.plot_terminator_improvement(single)
    with pytest.raises(ValueError, match="single-objective"):
        vis.plot_terminator_improvement(
            st.create_study(directions=["minimize"] * 2), improvement_evaluator=Gap()
        )


def test_terminator_improvement_default_evaluators():
    pytest.importorskip("slimtune.terminator")
    st.logging.set_verbosity(st.logging.WARNING)
    s = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    s.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=4)
    st.logging.set_verbosity(st.logging.INFO)
    fig = vis.plot_terminator_improvement(s, min_n_trials=2)  # RegretBoundEvaluator
    assert sum(len(t.y) for t in fig.data) == 4


def test_several_objectives_need_a_target(multi):
    for f in (
        vis.plot_optimization_history,
        vis.plot_slice,
        vis.plot_contour,
        vis.plot_rank,
        vis.plot_parallel_coordinate,
        vis.plot_edf,
    ):
        with pytest.raises(ValueError, match="target="):
            f(multi)
    fig = vis.plot_slice(multi, target=lambda t: t.values[0], target_name="first")
    assert fig.layout.yaxis.title.text == "first"


def test_unknown_params_are_named(single):
    with pytest.raises(ValueError, match=r"\['nope'\]"):
        vis.plot_slice(single, params=["nope"])
    with pytest.raises(TypeError, match="list of parameter names"):
        vis.plot_slice(single, params="x")


def test_figures_open_offline(single, multi, tmp_path):
    figs = [
        vis.plot_optimization_history(single),
        vis.plot_pareto_front(multi),
        vis.plot_parallel_coordinate(single),
    ]
    for i, fig in enumerate(figs):
        path = tmp_path / f"f{i}.html"
        fig.write_html(path, include_plotlyjs=True)
        html = path.read_text()
        assert 'src="https://cdn.plot.ly' not in html  # nothing loaded from the CDN
        # The one mention left is plotly.js's own default URL for geo maps' topojson,
        # which these figures never load.
        rest = html.replace('dflt:"https://cdn.plot.ly/un/"', "")
        assert "cdn.plot.ly" not in rest
        assert len(html) > 1_000_000  # plotly.js is in the page itself


def test_best_value_of_a_maximised_study_matches_optuna(optuna_mod):
    from benchmarks.importance import to_optuna_study

    st.logging.set_verbosity(st.logging.WARNING)
    s = st.create_study(direction="maximize", sampler=st.samplers.RandomSampler(seed=2))
    s.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=15)
    st.logging.set_verbosity(st.logging.INFO)
    ours = next(t for t in vis.plot_optimization_history(s).data if t.name == "Best Value")
    theirs = next(
        t
        for t in optuna_mod.visualization.plot_optimization_history(to_optuna_study(s)).data
        if t.name == "Best Value"
    )
    np.testing.assert_allclose(ours.y, theirs.y)
    assert np.all(np.diff(ours.y) >= 0)
