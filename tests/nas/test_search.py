"""The NAS search end to end (tiny nets, few epochs): constraints checked before training,
per-epoch reports to the pruner, Pareto front, outputs, CLI with resume (pick rules:
test_nas_selection.py; config: test_nas_config.py; the trial record: test_nas_objective.py)."""

from __future__ import annotations

import copy
import csv

import pytest

torch = pytest.importorskip("torch")

import slimtune as st  # noqa: E402
from slimtune.nas import objective as O  # noqa: E402
from slimtune.nas import search as S  # noqa: E402
from slimtune.nas.data import load_digits  # noqa: E402
from slimtune.nas.space import ArchSpace  # noqa: E402

pytestmark = pytest.mark.nas

CONFIG = {
    "study": {"name": "t", "n_trials": 5, "seed": 0},
    "data": {"name": "digits"},
    "objectives": ["accuracy", "macs"],
    "sampler": {"name": "RandomSampler"},
    "model": {
        "channel_divisor": 4,
        "width_multiple": [0.5, 1.0],
        "stem": {"c2": [4, 8], "k": 3, "s": 1},
        "stages": [
            {
                "block": ["InvertedResidual", "DWSConv", "MBConv", "Fire", "Ghost"],
                "depth": {"type": "int", "low": 1, "high": 2},
                "c2": [8, 16],
                "t": [2, 3],
                "se": [False, True],
                "act": ["relu", "hardswish"],
                "s": 2,
            }
        ],
    },
    "train": {
        "optimizer": ["adam", "sgd"],
        "lr": {"type": "float", "low": 3e-3, "high": 3e-2, "log": True},
        "momentum": {"type": "float", "low": 0.8, "high": 0.95, "when": {"optimizer": "sgd"}},
        "batch_size": 64,
    },
    "fidelity": {"epochs": 2, "subset": 0.4},
    "output": {"plot": False, "export": ["torchscript"]},
}


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


def _cfg(**sections):
    c = copy.deepcopy(CONFIG)
    for k, v in sections.items():
        c[k] = v
    return c


def test_space_conditions_follow_the_block():
    arch = ArchSpace(CONFIG["model"], CONFIG["train"], 1, 10, (8, 8))
    when = {n: p.when for n, p in arch.space.params.items()}
    assert set(when["s0_t"]["s0_block"]) == {"InvertedResidual", "MBConv"}
    assert set(when["s0_se"]["s0_block"]) == {"DWSConv", "MBConv"}
    assert when["momentum"] == {"optimizer": ("sgd",)}
    spec = arch.to_spec(
        {
            "s0_block": "Ghost",
            "s0_depth": 2,
            "s0_c2": 16,
            "s0_act": "relu",
            "stem_c2": 8,
            "width_multiple": 1.0,
        }
    )
    assert spec.layers[1] == [2, "Ghost", {"c2": 16, "s": 2, "act": "relu", "dk": 3, "res": True}]
    tc = arch.to_train_config({"optimizer": "sgd", "lr": 0.01, "momentum": 0.9}, epochs=3)
    assert tc.optimizer == "sgd" and tc.momentum == 0.9 and tc.batch_size == 64


def test_search_end_to_end_with_pruner_reports(tmp_path, digits):
    class PruneSecondHalf(st.pruners.BasePruner):
        """Prunes odd-numbered trials at their first report; records what it saw."""

        seen: list = []

        def prune(self, study, trial):
            self.seen.append(dict(trial.intermediate_values))
            return trial.number % 2 == 1

    cfg = S.SearchConfig.from_dict(_cfg())
    pruner = PruneSecondHalf()
    orig = S._make
    S._make = lambda kind, spec, seed: pruner if kind == "pruner" else orig(kind, spec, seed)
    try:
        res = S.run_search(cfg, out_dir=tmp_path, progress=False, data=digits)
    finally:
        S._make = orig
    states = [t.state for t in res.study.trials]
    assert states.count(st.TrialState.PRUNED) == 2 and len(states) == 5
    first = pruner.seen[0]
    assert list(first) == [1] and len(first[1]) == 2  # [accuracy, macs] at epoch 1
    assert all(c.on_front in (True, False) for c in res.candidates)
    assert res.front and res.chosen is not None and res.model is not None
    # front: no candidate dominates a front member
    for f in res.front:
        assert not any(c.accuracy >= f.accuracy and c.macs < f.macs for c in res.candidates)
    for name in (
        "pareto.csv",
        "trials.csv",
        "model.yaml",
        "model.pt",
        "model.torchscript.pt",
        "train.yaml",
    ):
        assert (tmp_path / name).is_file(), name
    with open(tmp_path / "pareto.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(res.front) and rows[0]["front"] == "1"
    # the exported chosen model predicts like the in-memory one
    ts = torch.jit.load(str(tmp_path / "model.torchscript.pt"))
    x = torch.from_numpy(digits.x_val[:8])
    with torch.no_grad():
        assert torch.allclose(ts(x), res.model(x), atol=1e-5)


def test_over_budget_models_are_never_trained(tmp_path, digits, monkeypatch):
    trained_macs = []
    real_train = O.train_model

    def spy(model, data, cfg, on_epoch=None, eval_on="val"):
        from slimtune.nas.profile import count_macs

        trained_macs.append(count_macs(model, (1, 1, 8, 8)))
        return real_train(model, data, cfg, on_epoch, eval_on)

    # the objective trains the trials, the search retrains the chosen model
    monkeypatch.setattr(O, "train_model", spy)
    monkeypatch.setattr(S, "train_model", spy)
    budget = 6000
    cfg = _cfg(
        constraints={"max_macs": budget},
        study={"name": "b", "n_trials": 6, "seed": 1},
        fidelity={"epochs": 1, "subset": 0.2},
    )
    res = S.run_search(cfg, out_dir=tmp_path, progress=False, data=digits)
    trials = res.study.trials
    skipped = [t for t in trials if "skipped" in t.user_attrs]
    assert skipped, "the budget should exclude some sampled models"
    assert all(t.user_attrs["macs"] > budget and max(t.constraints) > 0 for t in skipped)
    assert all(m <= budget for m in trained_macs)
    # trained in the search (not counting the final retrain of the chosen one)
    n_trained = sum(1 for t in trials if "skipped" not in t.user_attrs)
    assert len(trained_macs) >= n_trained
    assert all(c.macs <= budget for c in res.candidates)
    assert all(t.number not in {c.number for c in res.front} for t in skipped)


@pytest.mark.parametrize(
    "mutate, pattern",
    [
        (lambda c: c.update(extra=1), r"unknown section\(s\) \['extra'\]"),
        (lambda c: c.update(objectives=["loss", "macs"]), r"objectives\[0\]"),
        (lambda c: c.update(objectives=["accuracy", "flops"]), r"objectives\[1\].*latency"),
        (lambda c: c.update(constraints={"max_flops": 1}), r"`constraints`: unknown key"),
        (lambda c: c.update(pick={"rule": "coin"}), r"pick.rule.*mnasnet"),
        (lambda c: c.update(sampler={"name": "NoSuchSampler"}), r"sampler.name.*NoSuchSampler"),
        (lambda c: c["model"]["stages"][0].update(width=3), r"model.stages\[0\]: unknown key"),
        (lambda c: c["model"]["stages"][0].update(block=["Warp"]), r"model.stages\[0\].block"),
        (lambda c: c["train"].update(epochs=[1, 2]), r"train.epochs is a budget"),
        (lambda c: c["model"].update(stages=[]), r"model.stages must be a non-empty list"),
        (lambda c: c.pop("model"), r"needs a `model` section"),
        (lambda c: c.update(fidelity={"epochs": 0}), r"`fidelity.epochs` must be an int >= 1"),
    ],
)
def test_config_errors_name_the_key(mutate, pattern, digits, tmp_path):
    c = copy.deepcopy(CONFIG)
    mutate(c)
    with pytest.raises(S.ConfigError, match=pattern):
        S.run_search(c, n_trials=0, out_dir=tmp_path, progress=False, data=digits)


def test_cli_search_resumes_and_export(tmp_path, monkeypatch):
    import argparse

    import yaml

    from slimtune.nas import cli

    cfg = _cfg(
        study={"name": "cli", "n_trials": 2, "seed": 0},
        data={"name": "digits", "val_fraction": 0.3},
        fidelity={"epochs": 1, "subset": 0.2},
        retrain={"top_k": 1, "epochs": 1},
    )
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    cli.register(sub)
    db = f"sqlite:///{tmp_path / 's.db'}"
    out = tmp_path / "out"
    for _ in range(2):
        args = parser.parse_args(
            ["search", str(path), "--storage", db, "--out", str(out), "--no-progress"]
        )
        assert args.func(args) == 0
    study = st.load_study(study_name="cli", storage=db)
    assert len(study.trials) == 4  # the second call resumed the study
    assert (out / "retrained.csv").is_file()
    args = parser.parse_args(
        [
            "export",
            str(out / "model.yaml"),
            "--out",
            str(tmp_path / "ex"),
            "--format",
            "torchscript",
        ]
    )
    assert args.func(args) == 0
    assert (tmp_path / "ex" / "model.torchscript.pt").is_file()
    # from the study: kept weights in OUT/trials, or a retrain with the stored config
    for target in (out, tmp_path / "ex2"):
        args = parser.parse_args(
            [
                "export",
                "--storage",
                db,
                "--study-name",
                "cli",
                "--out",
                str(target),
                "--format",
                "torchscript",
                "--epochs",
                "1",
            ]
        )
        assert args.func(args) == 0
        assert (target / "model.torchscript.pt").is_file()
    args = parser.parse_args(
        ["export", "--storage", db, "--study-name", "cli", "--trial", "99", "--out", str(out)]
    )
    assert args.func(args) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"model": {"stages": [{"block": "Warp"}]}}))
    args = parser.parse_args(["search", str(bad), "--out", str(out)])
    assert args.func(args) == 2


def test_latency_objective_and_bohb_hyperband_by_name(tmp_path, digits):
    cfg = _cfg(
        study={"name": "lat", "n_trials": 3, "seed": 2},
        objectives=["f1", "latency"],
        constraints={"max_latency_ms": 1000.0},
        sampler={"name": "BOHBSampler"},
        pruner={"name": "HyperbandPruner", "min_resource": 1, "max_resource": 2},
        fidelity={"epochs": 2, "subset": 0.2},
    )
    res = S.run_search(cfg, out_dir=tmp_path, progress=False, data=digits)
    done = [t for t in res.study.trials if t.state == st.TrialState.COMPLETE]
    assert done
    for t in done:
        assert t.values[1] == pytest.approx(t.user_attrs["latency_ms"]) and t.values[1] > 0
        assert t.values[0] == pytest.approx(t.user_attrs["f1"])
    assert all(c.latency_ms is not None for c in res.candidates)


def test_multi_objective_tpe_gets_the_nas_defaults_and_config_keys_win(tmp_path, digits):
    from slimtune.nas.config import SearchConfig

    cfg = SearchConfig.from_dict(_cfg(sampler={"name": "TPESampler", "n_startup_trials": 2}))
    spec = S.sampler_spec_for(cfg)
    assert spec["good_weights"] == "hypervolume" and spec["branch_weight"] == 0.0
    assert spec["objective_scales"] == ["linear", "log"]
    lat = SearchConfig.from_dict(_cfg(objectives=["f1", "latency"], sampler={
        "name": "MOTPESampler", "branch_weight": 0.5, "good_weights": "trial-order"}))
    spec = S.sampler_spec_for(lat)
    assert spec["branch_weight"] == 0.5 and spec["good_weights"] == "trial-order"
    assert spec["objective_scales"] == ["linear", "log"]
    for other in ({"name": "RandomSampler"}, {"name": "TPESampler"}):
        one = SearchConfig.from_dict(_cfg(objectives=["accuracy"], sampler=other))
        assert S.sampler_spec_for(one) == other  # one objective / not TPE: as given
    res = S.run_search(_cfg(study={"name": "mo", "n_trials": 4, "seed": 0},
                            sampler={"name": "TPESampler", "n_startup_trials": 2}),
                       out_dir=tmp_path, progress=False, data=digits)
    s = res.study.sampler
    assert s.good_weights == "hypervolume" and s.objective_scales == ("linear", "log")
    assert len(res.study.trials) == 4


def test_auto_sampler_of_a_nas_search_gets_the_nas_tpe_defaults():
    """No `sampler:` (AutoSampler, whose TPE runs a NAS space) or an explicit AutoSampler:
    the TPE delegate gets the NAS defaults; the config's tpe_kwargs win."""
    from slimtune.nas.config import SearchConfig

    for given in ({}, {"name": "AutoSampler"}):
        spec = S.sampler_spec_for(SearchConfig.from_dict(_cfg(sampler=given or None)))
        assert spec["tpe_kwargs"] == {
            "good_weights": "hypervolume",
            "branch_weight": 0.0,
            "objective_scales": ["linear", "log"],
        }
        sampler = S._make("sampler", spec, 0)
        assert isinstance(sampler, st.samplers.AutoSampler)
        assert sampler.tpe_kwargs["good_weights"] == "hypervolume"
    mine = {"name": "AutoSampler", "tpe_kwargs": {"branch_weight": 0.5, "n_startup_trials": 4}}
    spec = S.sampler_spec_for(SearchConfig.from_dict(_cfg(sampler=mine)))
    assert spec["tpe_kwargs"]["branch_weight"] == 0.5
    assert spec["tpe_kwargs"]["n_startup_trials"] == 4
    assert spec["tpe_kwargs"]["good_weights"] == "hypervolume"
    one = SearchConfig.from_dict(_cfg(objectives=["accuracy"], sampler=None))
    assert S.sampler_spec_for(one) == {}  # one objective: the general defaults


@pytest.mark.parametrize(
    "sampler, design, enqueued",
    [
        ({"name": "TPESampler", "n_startup_trials": 3}, None, 3),  # the default: spread
        (None, None, 3),  # AutoSampler, n_startup_trials 10, capped by n_trials
        ({"name": "TPESampler", "n_startup_trials": 3}, "random", 0),
        ({"name": "RandomSampler"}, None, 0),  # random search keeps its own draws
    ],
)
def test_new_search_starts_from_the_cost_spread_design(
    tmp_path, digits, sampler, design, enqueued
):
    from slimtune import keys
    from slimtune.nas.design import cost_spread_design

    study_sec = {"name": "d", "n_trials": 3, "seed": 4, "storage": f"sqlite:///{tmp_path}/d.db"}
    if design:
        study_sec["initial_design"] = design
    cfg = _cfg(study=study_sec, sampler=sampler, fidelity={"epochs": 1, "subset": 0.2})
    res = S.run_search(cfg, out_dir=tmp_path, progress=False, data=digits)
    fixed = [t.params for t in res.study.trials if keys.FIXED_PARAMS in t.system_attrs]
    assert len(fixed) == enqueued
    if enqueued:
        arch = ArchSpace(CONFIG["model"], CONFIG["train"], 1, 10, (8, 8))
        assert fixed == cost_spread_design(arch, 3, seed=4)  # seeded by study.seed
        # resumed: no second design
        again = S.run_search(cfg, out_dir=tmp_path, progress=False, data=digits, n_trials=1)
        assert sum(keys.FIXED_PARAMS in t.system_attrs for t in again.study.trials) == enqueued
