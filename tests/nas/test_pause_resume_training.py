"""NAS training pauses and resumes exactly (train_model's state), and a NAS search under a
promotion-type pruner continues promoted trials from their checkpoint, not from scratch."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

import slimtune as st  # noqa: E402
from slimtune import keys  # noqa: E402
from slimtune.nas import search as S  # noqa: E402
from slimtune.nas.data import load_digits  # noqa: E402
from slimtune.nas.spec import build_model  # noqa: E402
from slimtune.nas.train import TrainConfig, set_seed, train_model  # noqa: E402

from .test_search import CONFIG  # noqa: E402
from .test_train_data import SPEC  # noqa: E402

pytestmark = pytest.mark.nas



@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


def test_resume_continues_exactly_as_uninterrupted_training(digits):
    cfg = TrainConfig(epochs=4, lr=1e-2, batch_size=32, subset=0.5, seed=3, threads=1, augment=0.3)
    set_seed(3)
    straight = train_model(build_model(SPEC), digits, cfg)

    kept: dict[int, dict] = {}

    class Pause(Exception):
        pass

    def on_epoch(epoch, m):
        if epoch == 2:
            raise Pause

    set_seed(3)
    with pytest.raises(Pause):
        train_model(
            build_model(SPEC), digits, cfg, on_epoch,
            on_state=lambda e, get: kept.__setitem__(e, get()),
        )
    assert sorted(kept) == [1, 2]
    set_seed(99)  # the state carries every generator: the global seed must not matter
    resumed = train_model(build_model(SPEC), digits, cfg, resume=kept[2])
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]
    assert resumed.history == straight.history
    assert resumed.accuracy == straight.accuracy and resumed.epochs == 4


def test_search_under_promotion_asha_resumes_promoted_trials(tmp_path, digits):
    c = copy.deepcopy(CONFIG)
    c["fidelity"] = {"epochs": 4, "subset": 0.3}
    c["study"] = {**c.get("study", {}), "n_trials": 10, "n_jobs": 1, "seed": 0}
    c["sampler"] = {"name": "RandomSampler"}
    c["pruner"] = {
        "name": "PromotionASHAPruner",
        "min_resource": 1,
        "reduction_factor": 2,
        "max_resource": 4,
        "checkpoints": str(tmp_path / "ckpt"),
    }
    cfg = S.SearchConfig.from_dict(c)
    res = S.run_search(cfg, out_dir=tmp_path / "out", progress=False, data=digits)
    trials = res.study.trials
    resumed = [t for t in trials if t.system_attrs.get(keys.RESUME_STEP, 0)]
    assert resumed, "no trial was promoted and resumed"
    for t in resumed:
        step = t.system_attrs[keys.RESUME_STEP]
        assert step >= 1
        assert keys.RESUME_KEY in t.system_attrs  # from the parent's checkpoint, not scratch
        # the continuation carries its parent's curve and reports the epochs after it
        assert max(t.intermediate_values) > step
    assert any(t.state == st.TrialState.COMPLETE for t in trials)
