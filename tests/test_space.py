from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import slimtune as st
from slimtune.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from slimtune.space import Space, SpaceEncoder, SpaceError, union_search_space

SPACE = {
    "lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
    "layers": {"type": "int", "low": 1, "high": 8},
    "optimizer": {"type": "categorical", "choices": ["sgd", "adam"]},
    "momentum": {"type": "float", "low": 0.0, "high": 0.99, "when": {"optimizer": "sgd"}},
    "nesterov": {"type": "categorical", "choices": [True, False], "when": {"optimizer": "sgd"}},
    "beta1": {"type": "float", "low": 0.8, "high": 0.999, "when": {"optimizer": ["adam"]}},
}


def test_space_roundtrip_dict_and_yaml():
    sp = Space.from_dict(SPACE)
    assert Space.from_dict(sp.to_dict()).to_dict() == sp.to_dict()
    y = sp.to_yaml()
    assert Space.from_yaml(y).to_dict() == sp.to_dict()
    assert set(sp.distributions) == set(SPACE)


def test_space_suggest_respects_conditions():
    sp = Space.from_dict(SPACE)
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(30):
        t = study.ask()
        p = sp.suggest(t)
        study.tell(t, 0.0)
        seen.add(p["optimizer"])
        if p["optimizer"] == "sgd":
            assert "momentum" in p and "nesterov" in p and "beta1" not in p
        else:
            assert "beta1" in p and "momentum" not in p
        sp.validate(p)
    assert seen == {"sgd", "adam"}


def test_space_errors_name_key_and_line():
    bad = """
lr: {type: float, low: 1e-5, high: 1e-1, log: true}
depth: {type: int, low: 5, high: 1}
"""
    with pytest.raises(SpaceError, match=r"'depth' \(line 3\).*low=5 must be <= high=1"):
        Space.from_yaml(bad)
    with pytest.raises(SpaceError, match=r"'x'.*unknown key\(s\) \['hgih'\]"):
        Space.from_dict({"x": {"type": "float", "low": 0, "hgih": 1}})
    with pytest.raises(SpaceError, match="unknown type 'floatt'"):
        Space.from_dict({"x": {"type": "floatt", "low": 0, "high": 1}})
    with pytest.raises(SpaceError, match="refers to unknown parameter 'opt'"):
        Space.from_dict({"m": {"type": "float", "low": 0, "high": 1, "when": {"opt": "sgd"}}})
    with pytest.raises(SpaceError, match="not a choice of 'opt'"):
        Space.from_dict(
            {
                "opt": ["sgd", "adam"],
                "m": {"type": "float", "low": 0, "high": 1, "when": {"opt": "rmsprop"}},
            }
        )
    with pytest.raises(SpaceError, match="cycle"):
        Space.from_dict(
            {
                "a": {"type": "categorical", "choices": [1, 2], "when": {"b": 1}},
                "b": {"type": "categorical", "choices": [1, 2], "when": {"a": 1}},
            }
        )
    with pytest.raises(SpaceError, match="line 2"):
        Space.from_yaml("a: {type: float\nb: [1, 2")


def test_prior_in_yaml():
    sp = Space.from_yaml("""
lr: {type: float, low: 1.0e-5, high: 1.0e-1, log: true, prior: {center: 1.0e-3, width: 0.1}}
opt: {type: categorical, choices: [sgd, adam], prior: {weights: [1, 3]}}
""")
    assert sp.priors["lr"].center == 1e-3
    assert sp.priors["opt"].weights == (1.0, 3.0)
    with pytest.raises(SpaceError, match="one entry per choice"):
        Space.from_dict({"o": {"choices": ["a", "b"], "prior": {"weights": [1]}}})
    with pytest.raises(SpaceError, match="outside"):
        Space.from_dict({"x": {"type": "float", "low": 0, "high": 1, "prior": {"center": 2}}})


dist_strategy = hs.one_of(
    hs.builds(
        lambda lo, w, log: FloatDistribution(
            lo if not log else abs(lo) + 0.01, (lo if not log else abs(lo) + 0.01) + w, log=log
        ),
        hs.floats(-100, 100),
        hs.floats(0, 100),
        hs.booleans(),
    ),
    hs.builds(
        lambda lo, w, s: IntDistribution(lo, lo + w * s, step=s),
        hs.integers(-50, 50),
        hs.integers(0, 30),
        hs.integers(1, 5),
    ),
    hs.builds(
        lambda lo, w: IntDistribution(lo, lo + w, log=True),
        hs.integers(1, 50),
        hs.integers(0, 1000),
    ),
    hs.builds(lambda n: CategoricalDistribution(list(range(n))), hs.integers(1, 6)),
)


@given(dists=hs.lists(dist_strategy, min_size=1, max_size=5), seed=hs.integers(0, 1000))
@settings(max_examples=100, deadline=None)
def test_encoder_roundtrip_exact(dists, seed):
    space = {f"p{i}": d for i, d in enumerate(dists)}
    enc = SpaceEncoder(space)
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from slimtune.samplers.random import sample_uniform

        params = [
            {n: d.to_internal(sample_uniform(rng, d)) for n, d in space.items()} for _ in range(5)
        ]
    X, active = enc.encode(params)
    assert active.all()
    num = enc.numeric
    assert ((X[:, num] >= 0) & (X[:, num] <= 1)).all()
    for i, p in enumerate(params):
        back = enc.decode(X[i])
        for n, d in space.items():
            if isinstance(d, FloatDistribution) and not d.step:
                assert back[n] == pytest.approx(p[n], rel=1e-9, abs=1e-9)
            else:
                assert back[n] == p[n]
    # Any point of the unit cube decodes into the space.
    U = rng.random((20, enc.dim))
    U[:, enc.is_categorical] = rng.integers(0, 6, size=(20, enc.is_categorical.sum()))
    V = enc.from_unit(U)
    for j, n in enumerate(enc.names):
        for v in V[:, j]:
            assert space[n].contains(v)


def test_encoder_int_cells_are_equal():
    enc = SpaceEncoder({"k": IntDistribution(0, 3)})
    u = np.linspace(0, 1, 4001)[:, None]
    v = enc.from_unit(u)[:, 0]
    counts = np.bincount(v.astype(int))
    assert counts.min() > 950 and counts.max() < 1050


def test_union_space_and_inactive_mask():
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    sp = Space.from_dict(SPACE)
    for _ in range(10):
        t = study.ask()
        sp.suggest(t)
        study.tell(t, 1.0)
    union = union_search_space(study.trials)
    assert set(union) == set(SPACE)
    enc = SpaceEncoder(union)
    X, active = enc.encode([t.internal_params for t in study.trials])
    j = enc.names.index("momentum")
    sgd = np.array([t.params["optimizer"] == "sgd" for t in study.trials])
    assert (active[:, j] == sgd).all()


@hs.composite
def declarative_spaces(draw):
    """Random declarative spaces: numbers, categoricals, and conditions on earlier ones."""
    n = draw(hs.integers(1, 6))
    spec: dict = {}
    cats: dict[str, list] = {}
    for i in range(n):
        name = f"p{i}"
        kind = draw(hs.sampled_from(["float", "int", "categorical"]))
        if kind == "float":
            log = draw(hs.booleans())
            lo = draw(hs.floats(0.001, 10)) if log else draw(hs.floats(-10, 10))
            e: dict = {"type": "float", "low": lo, "high": lo + draw(hs.floats(0, 10))}
            if log:
                e["log"] = True
        elif kind == "int":
            lo = draw(hs.integers(-20, 20))
            step = draw(hs.integers(1, 4))
            e = {"type": "int", "low": lo, "high": lo + step * draw(hs.integers(0, 10))}
            if step != 1:
                e["step"] = step
        else:
            choices = draw(
                hs.lists(
                    hs.one_of(
                        hs.text("abc", min_size=1, max_size=3), hs.integers(0, 9), hs.booleans()
                    ),
                    min_size=1,
                    max_size=4,
                    unique_by=lambda c: (type(c).__name__, c),
                )
            )
            e = {"type": "categorical", "choices": choices}
            cats[name] = choices
        if cats and draw(hs.booleans()):
            parent = draw(hs.sampled_from(sorted(cats)))
            if parent != name:
                e["when"] = {parent: draw(hs.sampled_from(cats[parent]))}
        spec[name] = e
    return spec


@given(spec=declarative_spaces(), seed=hs.integers(0, 100))
@settings(max_examples=60, deadline=None)
def test_declarative_space_properties(spec, seed):
    sp = Space.from_dict(spec)
    # Round trips through dict and YAML keep the space.
    assert Space.from_dict(sp.to_dict()).to_dict() == sp.to_dict()
    assert Space.from_yaml(sp.to_yaml()).to_dict() == sp.to_dict()
    # Sampling gives exactly the active parameters, each inside its distribution.
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=seed))
    for _ in range(3):
        t = study.ask()
        values = sp.suggest(t)
        study.tell(t, 0.0)
        sp.validate(values)
        assert sp.active_params(values) == values
        for name in sp.params:
            assert (name in values) == sp.is_active(name, values)
