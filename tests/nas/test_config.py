"""The search config: every default resolved once, in slimtune.nas.config, and read from
there by the objective, the retraining and the outputs."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

pytest.importorskip("torch")

from slimtune.nas import config as C  # noqa: E402

pytestmark = pytest.mark.nas

MODEL = {"stages": [{"block": "Conv", "c2": 8, "s": 2}], "stem": {"c2": 4}}


def test_defaults_are_resolved_when_parsing():
    cfg = C.SearchConfig.from_dict({"model": MODEL})
    assert cfg.study == C.StudySection(name="nas", seed=0, n_jobs=1)
    assert cfg.fidelity == C.FidelitySection(epochs=C.DEFAULT_EPOCHS, subset=1.0)
    assert cfg.retrain == C.RetrainSection(top_k=0, epochs=C.DEFAULT_EPOCHS, subset=1.0)
    assert cfg.pick == C.PickSection("best", {})
    assert cfg.output == C.OutputSection("nas_out", True, ("torchscript", "onnx"), True)
    assert cfg.objectives == ["accuracy", "macs"] and cfg.directions == ["maximize", "minimize"]
    assert (cfg.score, cfg.cost, cfg.need_latency, cfg.threads) == ("accuracy", "macs", False, 1)
    assert cfg.data == "digits" and cfg.constraints == {}


def test_epochs_fall_back_in_one_order():
    """fidelity.epochs, else train.epochs, else the default; retrain.epochs, else those."""
    cases = [
        ({}, {}, {}, (C.DEFAULT_EPOCHS, C.DEFAULT_EPOCHS)),
        ({"epochs": 4}, {}, {}, (4, 4)),
        ({}, {"epochs": 6}, {}, (6, 6)),  # a fixed train.epochs is the search budget
        ({"epochs": 4}, {"epochs": 6}, {}, (4, 4)),
        ({"epochs": 4}, {}, {"epochs": 9}, (4, 9)),
        ({"epochs": None}, {"epochs": 6}, {"epochs": None}, (6, 6)),
    ]
    for fidelity, train, retrain, (search_ep, retrain_ep) in cases:
        cfg = C.SearchConfig.from_dict(
            {"model": MODEL, "fidelity": fidelity, "train": train, "retrain": retrain}
        )
        assert (cfg.fidelity.epochs, cfg.retrain.epochs) == (search_ep, retrain_ep), (
            fidelity,
            train,
            retrain,
        )
    cfg = C.SearchConfig.from_dict({"model": MODEL, "train": {"subset": 0.3, "threads": 2}})
    assert cfg.fidelity.subset == 0.3 and cfg.retrain.subset == 1.0 and cfg.threads == 2


def test_every_reader_uses_the_one_resolved_default(monkeypatch):
    """Changing DEFAULT_EPOCHS changes the budget of the objective and the retraining."""
    from slimtune.nas import search as S
    from slimtune.nas.data import load_digits
    from slimtune.nas.objective import NASObjective
    from slimtune.nas.selection import Candidate
    from slimtune.nas.space import ArchSpace

    monkeypatch.setattr(C, "DEFAULT_EPOCHS", 2)
    cfg = C.SearchConfig.from_dict({"model": MODEL, "train": {"batch_size": 64}})
    data = load_digits(seed=0)
    arch = ArchSpace(cfg.model, cfg.train, 1, 10, (8, 8))
    assert NASObjective(cfg, data, arch, None).epochs == 2
    seen = []
    monkeypatch.setattr(S, "train_model", lambda model, data, tcfg: seen.append(tcfg) or _Res())
    values = {"width_multiple": 1.0, "depth_multiple": 1.0, "stem_c2": 4}
    spec = arch.to_spec(values).to_dict()
    S.retrain_candidate(cfg, Candidate(0, 0.5, 0.5, 1, 1, None, spec, values), data)
    assert seen[0].epochs == 2 and seen[0].subset == 1.0 and seen[0].threads == 1


class _Res:
    accuracy = f1 = 0.5


def test_study_values_and_output_none_mean_the_default():
    cfg = C.SearchConfig.from_dict(
        {
            "model": MODEL,
            "study": {"seed": None, "n_jobs": None, "timeout": 5},
            "output": {"export": None, "dir": None},
            "pick": {"rule": "budget", "max_macs": 100},
        }
    )
    assert (cfg.study.seed, cfg.study.n_jobs, cfg.study.timeout) == (0, 1, 5)
    assert cfg.study.initial_design == "cost-spread"
    assert cfg.output.export == () and cfg.output.dir == "nas_out"
    assert cfg.pick == C.PickSection("budget", {"max_macs": 100})


def test_raw_is_a_copy_and_load_config(tmp_path: Path):
    import yaml

    d = {"model": copy.deepcopy(MODEL), "fidelity": {"epochs": 3}}
    cfg = C.SearchConfig.from_dict(d)
    d["fidelity"]["epochs"] = 7
    assert cfg.raw["fidelity"]["epochs"] == 3
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(cfg.raw))
    assert C.load_config(p).fidelity.epochs == 3
    assert C.as_config(str(p)).fidelity == cfg.fidelity and C.as_config(cfg) is cfg
    with pytest.raises(C.ConfigError, match="not found"):
        C.load_config(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("model: [")
    with pytest.raises(C.ConfigError, match="invalid YAML"):
        C.load_config(tmp_path / "bad.yaml")


@pytest.mark.parametrize(
    "section, pattern",
    [
        ({"study": {"n_jobs": 0}}, r"study.n_jobs"),
        ({"study": {"timeout": -1}}, r"study.timeout"),
        ({"study": {"initial_design": "lhs"}}, r"study.initial_design.*'cost-spread', 'random'"),
        ({"fidelity": {"subset": 1.5}}, r"fidelity.subset"),
        ({"constraints": {"max_macs": 0}}, r"constraints.max_macs"),
        ({"sampler": {"seed": 1}}, r"`sampler` must be a class name"),
        ({"train": [1]}, r"`train` must be a mapping"),
        ({"data": 3}, r"`data` must be a name"),
        ({"objectives": ["accuracy", "macs", "params"]}, r"`objectives` must be"),
    ],
)
def test_parse_errors_name_the_key(section, pattern):
    with pytest.raises(C.ConfigError, match=pattern):
        C.SearchConfig.from_dict({"model": MODEL, **section})


def test_only_config_resolves_defaults():
    """No other nas module reads a config default from the raw mappings."""
    import slimtune.nas as nas

    root = Path(nas.__file__).parent
    for name in ("objective.py", "selection.py", "outputs.py", "search.py", "cli.py"):
        text = (root / name).read_text()
        for needle in ('.get("epochs"', '.get("subset"', '.get("seed"', ".raw["):
            assert needle not in text, (name, needle)


def test_load_config_in_a_fresh_process_knows_the_built_in_pick_rules() -> None:
    """The pick rules register on import of nas.selection: load_config must not depend on
    the caller having imported it first."""
    import subprocess
    import sys

    code = (
        "from slimtune.nas.config import load_config; "
        "print(load_config('examples/nas_digits.yaml').pick.rule)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "budget"
