from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from slimtune.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    check_distribution_compatibility,
    distribution_to_json,
    json_to_distribution,
)
from slimtune.samplers.random import sample_uniform


def test_float_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"low=2.0 must be <= high=1.0"):
        FloatDistribution(2, 1)
    with pytest.raises(ValueError, match="log=True needs low > 0"):
        FloatDistribution(0, 1, log=True)
    with pytest.raises(ValueError, match="cannot be combined with step"):
        FloatDistribution(1, 2, log=True, step=0.1)
    with pytest.raises(ValueError, match="step must be a positive"):
        FloatDistribution(0, 1, step=0)
    with pytest.raises(TypeError):
        FloatDistribution("a", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        FloatDistribution(0, math.inf)


def test_int_errors_name_the_problem():
    with pytest.raises(ValueError, match="low=5 must be <= high=1"):
        IntDistribution(5, 1)
    with pytest.raises(ValueError, match="log=True needs low >= 1"):
        IntDistribution(0, 10, log=True)
    with pytest.raises(ValueError, match="cannot be combined"):
        IntDistribution(1, 10, log=True, step=2)
    with pytest.raises(TypeError, match="low must be an integer"):
        IntDistribution(1.5, 3)  # type: ignore[arg-type]


def test_step_not_dividing_range_is_adjusted_with_warning():
    with pytest.warns(UserWarning, match="high is adjusted from 10 to 9"):
        d = IntDistribution(1, 10, step=2)
    assert d.high == 9
    with pytest.warns(UserWarning, match="adjusted"):
        f = FloatDistribution(0.0, 1.0, step=0.3)
    assert f.high == pytest.approx(0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FloatDistribution(0.0, 1.0, step=0.1)  # divides (up to float noise): no warning
        IntDistribution(0, 10, step=5)


def test_categorical_errors():
    with pytest.raises(ValueError, match="must not be empty"):
        CategoricalDistribution([])
    with pytest.raises(ValueError, match="duplicate choice 'a'"):
        CategoricalDistribution(["a", "b", "a"])
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        CategoricalDistribution([object()])  # type: ignore[list-item]
    # 1, True and 1.0 are different choices.
    d = CategoricalDistribution([1, True, 1.0, None, "x"])
    assert d.index_of(True) == 1 and d.index_of(1) == 0 and d.index_of(1.0) == 2
    assert d.to_external(3) is None


def test_compatibility():
    check_distribution_compatibility(FloatDistribution(0, 1), FloatDistribution(0, 5), "x")
    with pytest.raises(ValueError, match="'x'"):
        check_distribution_compatibility(FloatDistribution(0, 1), IntDistribution(0, 1), "x")
    with pytest.raises(ValueError, match="choices changed"):
        check_distribution_compatibility(
            CategoricalDistribution(["a"]), CategoricalDistribution(["b"]), "c"
        )


finite = hs.floats(-1e6, 1e6, allow_nan=False)


@given(
    lo=finite,
    width=hs.floats(0, 1e6),
    log=hs.booleans(),
    use_step=hs.booleans(),
    u=hs.floats(0, 1, exclude_max=True),
)
@settings(max_examples=200, deadline=None)
def test_float_samples_in_bounds_and_json_roundtrip(lo, width, log, use_step, u):
    hi = lo + width
    if log:
        lo, hi = abs(lo) + 1e-3, abs(lo) + 1e-3 + width
        use_step = False
    step = width / 7 if use_step and width / 7 > 1e-9 else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = FloatDistribution(lo, hi, log=log, step=step)
    v = sample_uniform(np.random.default_rng(0), d, u)
    assert d.low <= v <= d.high
    assert d.contains(d.to_internal(v))
    d2 = json_to_distribution(distribution_to_json(d))
    assert d2 == d
    json.loads(distribution_to_json(d))


@given(
    lo=hs.integers(-1000, 1000),
    width=hs.integers(0, 1000),
    step=hs.integers(1, 50),
    log=hs.booleans(),
    u=hs.floats(0, 1, exclude_max=True),
)
@settings(max_examples=200, deadline=None)
def test_int_samples_on_grid(lo, width, step, log, u):
    if log:
        lo, step = abs(lo) + 1, 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = IntDistribution(lo, lo + width, log=log, step=step)
    v = sample_uniform(np.random.default_rng(0), d, u)
    assert isinstance(v, int)
    assert d.low <= v <= d.high
    assert (v - d.low) % d.step == 0
    assert json_to_distribution(distribution_to_json(d)) == d


@given(
    choices=hs.lists(
        hs.one_of(
            hs.none(),
            hs.booleans(),
            hs.integers(-5, 5),
            hs.text(max_size=3),
            hs.floats(-5, 5, allow_nan=False),
        ),
        min_size=1,
        max_size=6,
        unique_by=lambda c: (type(c).__name__, c),
    ),
    u=hs.floats(0, 1, exclude_max=True),
)
@settings(max_examples=200, deadline=None)
def test_categorical_roundtrip(choices, u):
    d = CategoricalDistribution(choices)
    v = sample_uniform(np.random.default_rng(0), d, u)
    i = d.to_internal(v)
    assert d.contains(i)
    assert d.to_external(i) == v
    d2 = json_to_distribution(distribution_to_json(d))
    assert d2 == d
