"""The trial objective and the one record a trial stores (written and read by
slimtune.nas.objective.TrialRecord)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

import slimtune as st  # noqa: E402
from slimtune.nas.config import SearchConfig  # noqa: E402
from slimtune.nas.data import load_digits  # noqa: E402
from slimtune.nas.objective import SKIPPED_OVER_BUDGET, NASObjective, TrialRecord  # noqa: E402
from slimtune.nas.selection import Candidate  # noqa: E402
from slimtune.nas.space import ArchSpace  # noqa: E402

pytestmark = pytest.mark.nas

SPEC = {"in_channels": 1, "num_classes": 10, "layers": [[1, "Classify", {}]]}


def test_record_round_trip_through_user_attrs():
    full = TrialRecord(1200, 300, 0.25, SPEC, 0.9, 0.85, 3, None)
    ua = full.to_user_attrs()
    assert ua == {
        "macs": 1200,
        "params": 300,
        "latency_ms": 0.25,
        "spec": SPEC,
        "accuracy": 0.9,
        "f1": 0.85,
        "epochs": 3,
    }
    assert TrialRecord.from_user_attrs(ua) == full and full.trained
    skipped = TrialRecord(9_000_000, 5000, spec=SPEC, skipped=SKIPPED_OVER_BUDGET)
    assert set(skipped.to_user_attrs()) == {"macs", "params", "spec", "skipped"}
    back = TrialRecord.from_user_attrs(skipped.to_user_attrs())
    assert back == skipped and not back.trained and back.latency_ms is None
    assert full.to_user_attrs("accuracy", "f1") == {"accuracy": 0.9, "f1": 0.85}
    assert TrialRecord.from_user_attrs({}) is None  # failed before profiling
    assert full.score("f1") == 0.85 and full.score() == 0.9


def test_record_through_a_study_and_to_a_candidate():
    study = st.create_study(directions=["maximize", "minimize"])
    t = study.ask()
    rec = TrialRecord(1000, 100, None, SPEC)
    rec.save(t)
    rec.accuracy, rec.f1, rec.epochs = 0.75, 0.7, 2
    rec.save(t, "accuracy", "f1", "epochs")
    frozen = study.tell(t, [0.75, 1000])
    assert TrialRecord.of(frozen) == rec
    c = Candidate.from_trial(frozen)
    assert (c.number, c.accuracy, c.f1, c.macs, c.params, c.epochs) == (0, 0.75, 0.7, 1000, 100, 2)
    assert c.latency_ms is None and c.spec == SPEC


CONFIG = {
    "study": {"seed": 0},
    "model": {
        "channel_divisor": 4,
        "stem": {"c2": [4, 8], "k": 3, "s": 1},
        "stages": [{"block": ["DWSConv", "Conv"], "c2": [8, 16], "s": 2}],
    },
    "train": {"lr": 0.01, "batch_size": 64},
    "fidelity": {"epochs": 1, "subset": 0.2},
    "output": {"save_trial_weights": False},
}


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


def _run(cfg_dict, digits, n=3):
    cfg = SearchConfig.from_dict(cfg_dict)
    arch = ArchSpace(cfg.model, cfg.train, 1, 10, (8, 8))
    study = st.create_study(directions=cfg.directions, sampler=st.samplers.RandomSampler(seed=1))
    study.optimize(NASObjective(cfg, digits, arch, None), n_trials=n)
    return study


def test_objective_stores_a_trained_record(digits):
    study = _run(CONFIG, digits)
    for t in study.trials:
        rec = TrialRecord.of(t)
        assert t.state == st.TrialState.COMPLETE and rec.trained
        assert set(t.user_attrs) == {"macs", "params", "spec", "accuracy", "f1", "epochs", "device"}
        assert rec.epochs == 1 and t.values == [rec.accuracy, rec.macs] and rec.device == "cpu"
        assert t.constraints is None


def test_objective_skips_over_budget_models_and_measures_latency(digits):
    cfg = dict(CONFIG, constraints={"max_macs": 1.0, "max_latency_ms": 1e6})
    cfg["objectives"] = ["f1", "latency"]
    study = _run(cfg, digits, n=2)
    for t in study.trials:
        rec = TrialRecord.of(t)
        assert rec.skipped == SKIPPED_OVER_BUDGET and not rec.trained
        assert rec.accuracy is None and rec.latency_ms > 0
        assert t.values == [0.0, rec.latency_ms]
        assert t.constraints[0] == pytest.approx(rec.macs / 1.0 - 1.0)
