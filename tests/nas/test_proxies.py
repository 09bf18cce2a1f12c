"""Zero-cost proxies (slimtune.nas.proxies), the `proxy:` config section and the rung it
adds before the first epoch of a search trial."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

import slimtune as st  # noqa: E402
import slimtune.nas.objective as objective_mod  # noqa: E402
import slimtune.nas.proxies as proxies_mod  # noqa: E402
import slimtune.nas.selection  # noqa: E402,F401  (registers the pick rules)
from slimtune.nas.config import PROXY_NAMES, ConfigError, SearchConfig  # noqa: E402
from slimtune.nas.data import load_digits  # noqa: E402
from slimtune.nas.objective import NASObjective  # noqa: E402
from slimtune.nas.proxies import PROXIES, proxy_batch, score, score_model  # noqa: E402
from slimtune.nas.space import ArchSpace  # noqa: E402
from slimtune.nas.spec import build_model  # noqa: E402
from slimtune.nas.train import set_seed  # noqa: E402

pytestmark = pytest.mark.nas


def _spec(act: str = "relu", se: bool = True) -> dict:
    return {
        "in_channels": 1,
        "num_classes": 10,
        "channel_divisor": 4,
        "input_size": [8, 8],
        "layers": [
            [1, "Conv", {"c2": 8, "k": 3, "s": 1, "act": act}],
            [1, "MBConv", {"c2": 16, "k": 3, "s": 2, "t": 2, "se": 0.25 if se else 0.0}],
            [1, "DWSConv", {"c2": 16, "k": 3, "s": 2, "act": act}],
            [1, "Classify", {"dropout": 0.2}],
        ],
    }


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


@pytest.fixture(scope="module")
def batch(digits):
    return proxy_batch(digits, 32, seed=0)


def _model(seed: int = 0, **kw) -> torch.nn.Module:
    set_seed(seed)
    return build_model(_spec(**kw))


def test_the_config_names_every_proxy():
    assert set(PROXIES) == set(PROXY_NAMES)


@pytest.mark.parametrize("name", sorted(PROXIES))
def test_proxy_is_finite_deterministic_and_leaves_the_model_alone(name, batch):
    x, y = batch
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    a = score_model(name, model, x, y)
    b = score_model(name, model, x, y)
    assert math.isfinite(a) and a == b
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN stats too
    assert all(p.grad is None for p in model.parameters())
    assert model.training  # mode untouched (build_model leaves it in train mode)
    assert score_model(name, _model(seed=1), x, y) != a  # another init, another score


@pytest.mark.parametrize("name", sorted(PROXIES))
def test_a_degenerate_network_scores_below_a_random_one(name, batch):
    """All conv / linear weights zero: no signal flows (synflow, snip, grad_norm), every
    sample has the same activation pattern (naswot) and the input gradients vanish
    (jacob_cov)."""
    x, y = batch
    dead = _model()
    with torch.no_grad():
        for m in dead.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                m.weight.zero_()
    assert score_model(name, dead, x, y) < score_model(name, _model(), x, y)


def test_naswot_codes_are_pre_activation_signs(batch):
    """hardswish, silu and relu are positive exactly where their input is: with the same
    weights, one activation layer gives the same codes, hence the same score."""
    x, _ = batch

    def one_layer(act: str) -> torch.nn.Module:
        set_seed(3)
        return build_model(
            {
                "in_channels": 1,
                "num_classes": 10,
                "layers": [[1, "Conv", {"c2": 8, "k": 3, "act": act}], [1, "Classify", {}]],
            }
        )

    scores = {a: proxies_mod.naswot(one_layer(a), x) for a in ("relu", "hardswish", "silu")}
    assert scores["relu"] == scores["hardswish"] == scores["silu"]
    # identical samples share one pattern: the kernel is singular, the score far lower
    same = x[:1].repeat(len(x), 1, 1, 1)
    assert proxies_mod.naswot(one_layer("hardswish"), same) < scores["hardswish"] - 50


def test_synflow_is_not_cancelled_by_batch_norm(batch):
    """In training mode BN would normalise the all-ones input to 0; the proxy's eval-mode
    copy with reset statistics keeps the flow (and ignores trained running stats)."""
    x, _ = batch
    model = _model()
    s = proxies_mod.synflow(model, x)
    assert s > 1.0
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.fill_(100.0)
    assert proxies_mod.synflow(model, x) == s


def test_score_entry_is_seeded(digits):
    spec = _spec()
    a = score("naswot", spec, digits, seed=0)
    assert a == score("naswot", spec, digits, seed=0)
    assert a != score("naswot", spec, digits, seed=1)
    with pytest.raises(ValueError, match="proxy 'nope' is unknown; use one of"):
        score("nope", spec, digits)


CONFIG = {
    "study": {"seed": 0},
    "model": {
        "channel_divisor": 4,
        "stem": {"c2": [4, 8], "k": 3, "s": 1, "act": ["relu", "hardswish"]},
        "stages": [{"block": ["DWSConv", "Conv"], "c2": [8, 16], "s": 2}],
    },
    "train": {"lr": 0.01, "batch_size": 64},
    "fidelity": {"epochs": 1, "subset": 0.2},
    "output": {"save_trial_weights": False},
}


def test_proxy_section_parses_with_defaults():
    assert SearchConfig.from_dict(CONFIG).proxy is None
    p = SearchConfig.from_dict({**CONFIG, "proxy": "synflow"}).proxy
    assert (p.name, p.keep, p.warmup, p.neighbors, p.batch_size) == ("synflow", 0.5, 20, 20, 64)
    p = SearchConfig.from_dict({**CONFIG, "proxy": {"name": "naswot", "keep": 0.3, "warmup": 5}})
    assert (p.proxy.name, p.proxy.keep, p.proxy.warmup) == ("naswot", 0.3, 5)
    # the rung decides which trials train, not what a score means: not in the resume key
    assert p.resume_key() == SearchConfig.from_dict(CONFIG).resume_key()


@pytest.mark.parametrize(
    "proxy, message",
    [
        ("zen", r"`proxy.name`='zen': use one of \['synflow', 'naswot'"),
        ({"keep": 0.5}, r"`proxy` must be a proxy name or \{name: \.\.\."),
        ([1, 2], r"`proxy` must be a proxy name"),
        ({"name": "naswot", "keep": 1.5}, r"`proxy.keep` must be the fraction .* in \(0, 1\)"),
        ({"name": "naswot", "keep": True}, r"`proxy.keep` must be the fraction"),
        ({"name": "naswot", "warmup": 0}, r"`proxy.warmup` must be an int >= 1, got 0"),
        ({"name": "naswot", "neighbors": 2.5}, r"`proxy.neighbors` must be an int >= 2"),
        ({"name": "naswot", "kep": 0.5}, r"`proxy`: unknown key\(s\) \['kep'\]; allowed"),
    ],
)
def test_proxy_section_errors_are_one_line(proxy, message):
    with pytest.raises(ConfigError, match=message) as e:
        SearchConfig.from_dict({**CONFIG, "proxy": proxy})
    assert "\n" not in str(e.value)


def _search(digits, proxy, n, monkeypatch, scores=None):
    trained: list[int] = []
    real_train = objective_mod.train_model

    def counting_train(model, data, cfg, on_epoch=None):
        trained.append(cfg.seed)
        return real_train(model, data, cfg, on_epoch)

    monkeypatch.setattr(objective_mod, "train_model", counting_train)
    if scores is not None:  # scripted proxy scores, in trial order
        it = iter(scores)
        monkeypatch.setattr(proxies_mod, "score_model", lambda *a: next(it))
    cfg = SearchConfig.from_dict({**CONFIG, "proxy": proxy})
    arch = ArchSpace(cfg.model, cfg.train, 1, 10, (8, 8))
    study = st.create_study(directions=cfg.directions, sampler=st.samplers.RandomSampler(seed=1))
    study.optimize(NASObjective(cfg, digits, arch, None), n_trials=n)
    return study, trained


def test_the_rung_prunes_before_training(digits, monkeypatch):
    proxy = {"name": "naswot", "keep": 0.5, "warmup": 2, "neighbors": 4}
    # trials 0, 1 warm up; 2 beats the median of its neighbours; 3 and 4 fall below it
    study, trained = _search(digits, proxy, 5, monkeypatch, scores=[5.0, 3.0, 6.0, 1.0, 2.0])
    states = [t.state for t in study.trials]
    c, p = st.TrialState.COMPLETE, st.TrialState.PRUNED
    assert states == [c, c, c, p, p]
    assert trained == [0, 1, 2]  # the seeds of the trained trials: 3 and 4 never trained
    for t in study.trials:
        assert t.user_attrs["proxy"] == "naswot/64" and "macs" in t.user_attrs
    pruned = study.trials[3]
    assert pruned.user_attrs["proxy_score"] == 1.0
    assert pruned.user_attrs["proxy_pruned"].startswith("proxy naswot 1 < 5, the 50% quantile")
    assert "accuracy" not in pruned.user_attrs and pruned.intermediate_values == {}
    assert "proxy_pruned" not in study.trials[2].user_attrs


def test_the_rung_ignores_scores_of_another_proxy(digits, monkeypatch):
    proxy = {"name": "snip", "keep": 0.5, "warmup": 2}
    study, trained = _search(digits, proxy, 2, monkeypatch, scores=[5.0, 3.0])
    t = study.ask()  # a trial of a study resumed with another proxy: nothing to compare with

    def rung(p):
        return proxies_mod.ProxyRung(SearchConfig.from_dict({**CONFIG, "proxy": p}).proxy, digits)

    other = rung("naswot")
    assert other.threshold(t, 1000) is None
    same = rung(proxy)
    assert same.threshold(t, 1000) == (4.0, 2)


def test_the_rung_with_a_real_proxy_records_finite_scores(digits, monkeypatch):
    study, trained = _search(digits, {"name": "naswot", "warmup": 2}, 4, monkeypatch)
    scores = [t.user_attrs["proxy_score"] for t in study.trials]
    assert len(scores) == 4 and all(math.isfinite(s) for s in scores)
    assert len(trained) == sum(t.state == st.TrialState.COMPLETE for t in study.trials)
