"""Optimizer adapters for the benchmark runner.

``OPTIMIZERS`` maps a name to a *runner*: ``run(problem, seed, n_trials, **options) ->
RunResult`` that runs one study of ``n_trials`` on ``problem`` and returns, per trial, the
objective value and the time spent *in the optimizer* (asking for a configuration and
telling the result: sampler, storage, bookkeeping), measured separately from the time of
the objective itself.

Add an optimizer with the decorator::

    @register("my-opt")
    def _run(problem, seed, n_trials, **options) -> RunResult: ...

or, for a slimtune / Optuna sampler, with one line::

    register_slimtune_sampler("slimtune-tpe-uni",
                              lambda seed, **kw: st.samplers.TPESampler(seed=seed,
                                                                        multivariate=False, **kw))

On the command line a name may carry keyword options that go to the sampler's
constructor, e.g. ``slimtune-tpe[gamma=0.15,n_startup_trials=5]`` (values are Python
literals). An optimizer whose library is missing raises :class:`Unavailable`; the runner
reports it as unavailable instead of failing.
"""

from __future__ import annotations

import ast
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.problems import Problem

__all__ = [
    "OPTIMIZERS",
    "RunResult",
    "Unavailable",
    "register",
    "register_slimtune_sampler",
    "register_optuna_sampler",
    "parse_spec",
    "get_runner",
    "run_optimizer",
    "available",
]


class Unavailable(RuntimeError):
    """The optimizer cannot run here (library not installed, sampler not written yet)."""


@dataclass
class RunResult:
    """One (problem, optimizer, seed) run.

    ``values[i]`` is trial i's objective value (NaN when the trial failed),
    ``suggest_s[i]`` the seconds spent in the optimizer for trial i (ask + suggest + tell),
    ``eval_s[i]`` the seconds of the objective itself.
    """

    problem: str
    optimizer: str
    seed: int
    values: list[float]
    suggest_s: list[float]
    eval_s: list[float]
    wall_s: float = 0.0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def best(self) -> float:
        finite = [v for v in self.values if math.isfinite(v)]
        return min(finite) if finite else math.inf

    def best_so_far(self) -> list[float]:
        out, cur = [], math.inf
        for v in self.values:
            if math.isfinite(v) and v < cur:
                cur = v
            out.append(cur)
        return out

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["values"] = [v if math.isfinite(v) else None for v in self.values]
        # microseconds are plenty for times, and keep the raw JSON files small
        d["suggest_s"] = [round(t, 6) for t in self.suggest_s]
        d["eval_s"] = [round(t, 6) for t in self.eval_s]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunResult:
        d = dict(d)
        d["values"] = [math.nan if v is None else float(v) for v in d["values"]]
        return cls(**d)


Runner = Callable[..., RunResult]
OPTIMIZERS: dict[str, Runner] = {}


def register(name: str) -> Callable[[Runner], Runner]:
    """Decorator: ``@register("name")`` on ``run(problem, seed, n_trials, **options)``."""

    def deco(fn: Runner) -> Runner:
        if name in OPTIMIZERS:
            raise ValueError(f"optimizer {name!r} is registered twice.")
        OPTIMIZERS[name] = fn
        return fn

    return deco


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"name[a=1,b='x']"`` -> ``("name", {"a": 1, "b": "x"})``."""
    spec = spec.strip()
    if "[" not in spec:
        return spec, {}
    if not spec.endswith("]"):
        raise ValueError(f"optimizer spec {spec!r}: expected name[key=value,...].")
    name, body = spec[:-1].split("[", 1)
    opts: dict[str, Any] = {}
    if body.strip():
        call = ast.parse(f"f({body})", mode="eval").body
        assert isinstance(call, ast.Call)
        if call.args:
            raise ValueError(f"optimizer spec {spec!r}: options must be key=value.")
        for kw in call.keywords:
            opts[str(kw.arg)] = ast.literal_eval(kw.value)
    return name.strip(), opts


def get_runner(spec: str) -> tuple[Runner, dict[str, Any]]:
    name, opts = parse_spec(spec)
    if name not in OPTIMIZERS:
        raise KeyError(f"unknown optimizer {name!r}; known: {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name], opts


def run_optimizer(spec: str, problem: Problem, seed: int, n_trials: int) -> RunResult:
    """Run one optimizer spec (``name`` or ``name[k=v,...]``) on one problem and seed."""
    runner, opts = get_runner(spec)
    t0 = time.perf_counter()
    res = runner(problem, seed, n_trials, **opts)
    res.wall_s = time.perf_counter() - t0
    res.optimizer = spec
    return res


def _probe_eval(p: dict[str, Any]) -> float:
    return float(p["x"]) + (0.01 * int(p["n"]) if p["c"] == "a" else 0.1)


PROBE = Problem(
    "_probe",
    "probe",
    {
        "x": {"type": "float", "low": 0, "high": 1},
        "c": {"type": "categorical", "choices": ["a", "b"]},
        "n": {"type": "int", "low": 1, "high": 8, "log": True, "when": {"c": "a"}},
    },
    _probe_eval,
    0.0,
    3,
)


def available(spec: str, n_trials: int = 1) -> tuple[bool, str]:
    """Whether an optimizer can run here (a short run on a tiny problem)."""
    try:
        run_optimizer(spec, PROBE, 0, n_trials)
    except Unavailable as e:
        return False, str(e)
    return True, ""


def _safe_eval(problem: Problem, params: dict[str, Any]) -> tuple[float, float]:
    t0 = time.perf_counter()
    try:
        v = float(problem.evaluate(params))
    except Exception as e:  # noqa: BLE001 - a failing configuration is a failed trial
        warnings.warn(f"{problem.name}: evaluation failed for {params}: {e}", stacklevel=2)
        v = math.nan
    return v, time.perf_counter() - t0


# ======================================================================================
# slimtune
# ======================================================================================


def _ask_tell_loop(
    study: Any, fail_state: Any, problem: Problem, n_trials: int, name: str, seed: int
) -> RunResult:
    """Run ``n_trials`` ask/suggest/tell rounds on a slimtune or Optuna study (same API),
    timing the optimizer apart from the objective."""
    values, sug, ev = [], [], []
    for _ in range(n_trials):
        t0 = time.perf_counter()
        trial = study.ask()
        params = problem.suggest(trial)
        t1 = time.perf_counter()
        v, dt = _safe_eval(problem, params)
        t2 = time.perf_counter()
        if math.isfinite(v):
            study.tell(trial, v)
        else:
            study.tell(trial, state=fail_state)
        t3 = time.perf_counter()
        values.append(v)
        sug.append((t1 - t0) + (t3 - t2))
        ev.append(dt)
    return RunResult(problem.name, name, seed, values, sug, ev)


def _slimtune_loop(
    problem: Problem, n_trials: int, sampler: Any, name: str, seed: int, storage: Any = None
) -> RunResult:
    import slimtune as st

    study = st.create_study(sampler=sampler, storage=storage, direction="minimize")
    return _ask_tell_loop(study, st.TrialState.FAIL, problem, n_trials, name, seed)


def register_slimtune_sampler(name: str, make: Callable[..., Any]) -> None:
    """Register ``name`` for the slimtune sampler ``make(seed, **options)``.

    ``make`` may raise ImportError / AttributeError (a sampler not written yet): the
    optimizer is then reported unavailable.
    """

    @register(name)
    def _run(problem: Problem, seed: int, n_trials: int, **opts: Any) -> RunResult:
        try:
            sampler = make(seed, **opts)
        except (ImportError, AttributeError) as e:
            raise Unavailable(f"{name}: {type(e).__name__}: {e}") from None
        return _slimtune_loop(problem, n_trials, sampler, name, seed)


def _st_sampler(cls_name: str) -> Callable[..., Any]:
    def make(seed: int, **kw: Any) -> Any:
        import slimtune as st

        return getattr(st.samplers, cls_name)(seed=seed, **kw)

    return make


register_slimtune_sampler("slimtune-random", _st_sampler("RandomSampler"))
register_slimtune_sampler("slimtune-qmc", _st_sampler("QMCSampler"))
register_slimtune_sampler("slimtune-tpe", _st_sampler("TPESampler"))
register_slimtune_sampler("slimtune-gp", _st_sampler("GPSampler"))
register_slimtune_sampler("slimtune-auto", _st_sampler("AutoSampler"))


# ======================================================================================
# Optuna
# ======================================================================================


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as e:
        raise Unavailable(f"optuna is not installed ({e})") from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", module="optuna")
    try:
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    except AttributeError:
        pass
    return optuna


def register_optuna_sampler(name: str, make: Callable[..., Any]) -> None:
    """Register ``name`` for the Optuna sampler ``make(optuna, seed, **options)``."""

    @register(name)
    def _run(problem: Problem, seed: int, n_trials: int, **opts: Any) -> RunResult:
        optuna = _optuna()
        try:
            sampler = make(optuna, seed, **opts)
        except (ImportError, AttributeError) as e:
            raise Unavailable(f"{name}: {type(e).__name__}: {e}") from None
        study = optuna.create_study(sampler=sampler, direction="minimize")
        return _ask_tell_loop(
            study, optuna.trial.TrialState.FAIL, problem, n_trials, name, seed
        )


def _optuna_gp(optuna: Any, seed: int, **kw: Any) -> Any:
    try:
        import torch  # noqa: F401  (Optuna's GPSampler runs on torch)
    except ImportError:
        raise Unavailable("optuna-gp: Optuna's GPSampler needs torch, not installed") from None
    torch.set_num_threads(1)
    return optuna.samplers.GPSampler(seed=seed, **kw)


register_optuna_sampler("optuna-random", lambda o, s, **kw: o.samplers.RandomSampler(seed=s, **kw))
register_optuna_sampler("optuna-tpe", lambda o, s, **kw: o.samplers.TPESampler(seed=s, **kw))
register_optuna_sampler(
    "optuna-tpe-mv",
    lambda o, s, **kw: o.samplers.TPESampler(seed=s, **{"multivariate": True, "group": True, **kw}),
)
register_optuna_sampler(
    "optuna-qmc",
    lambda o, s, **kw: o.samplers.QMCSampler(seed=s, **{"scramble": True, **kw}),
)
register_optuna_sampler("optuna-gp", _optuna_gp)


# ======================================================================================
# Hyperopt
# ======================================================================================


def hyperopt_space(space: dict[str, Any]) -> tuple[Any, Callable[[Any], dict[str, Any]]]:
    """Convert a slimtune declarative space into a Hyperopt space + a decoder.

    Conditional parameters are nested under the choices of the categorical they depend on
    (``hp.choice`` of dicts), the way Hyperopt expresses tree-structured spaces. A
    parameter whose condition has several keys, or depends on a numeric parameter, is
    nested under its first key only (or kept at top level) and filtered out afterwards by
    the space's own ``active_params``. The decoder maps a Hyperopt sample to the dict of
    active external values.
    """
    from hyperopt import hp

    from slimtune.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )
    from slimtune.space import Space, _same_choice

    sp = Space.from_dict(space)
    parent: dict[str, str | None] = {}
    for name, ps in sp.params.items():
        par = next(iter(ps.when), None)
        if par is not None and not isinstance(sp.params[par].distribution, CategoricalDistribution):
            par = None
        parent[name] = par
    post: dict[str, Callable[[Any], Any]] = {}

    def node(name: str, label: str) -> Any:
        d = sp.params[name].distribution
        if isinstance(d, CategoricalDistribution):
            kids = [n for n, par in parent.items() if par == name]
            if not kids:
                return hp.choice(label, list(d.choices))
            branches = []
            for c in d.choices:
                br: dict[str, Any] = {"__value__": c}
                for k in kids:
                    allowed = sp.params[k].when[name]
                    if any(_same_choice(c, a) for a in allowed):
                        br[k] = node(k, f"{k}|{name}={c}")
                branches.append(br)
            return hp.choice(label, branches)
        if isinstance(d, IntDistribution):
            if d.log:
                post[name] = lambda v, d=d: int(min(max(round(v), d.low), d.high))
                return hp.qloguniform(label, math.log(d.low - 0.5), math.log(d.high + 0.5), 1)
            n = (d.high - d.low) // d.step
            post[name] = lambda v, d=d, n=n: d.low + int(min(max(round(v), 0), n)) * d.step
            return hp.quniform(label, -0.5, n + 0.5, 1)
        assert isinstance(d, FloatDistribution)
        if d.log:
            post[name] = lambda v, d=d: float(min(max(v, d.low), d.high))
            return hp.loguniform(label, math.log(d.low), math.log(d.high))
        if d.step is not None:
            n = int(round((d.high - d.low) / d.step))
            post[name] = lambda v, d=d, n=n: float(
                min(d.low + int(min(max(round(v), 0), n)) * d.step, d.high)
            )
            return hp.quniform(label, -0.5, n + 0.5, 1)
        post[name] = lambda v, d=d: float(min(max(v, d.low), d.high))
        return hp.uniform(label, d.low, d.high)

    top = {n: node(n, n) for n, par in parent.items() if par is None}

    def flatten(sample: Any, out: dict[str, Any]) -> None:
        for k, v in sample.items():
            if k == "__value__":
                continue
            if isinstance(v, dict):
                out[k] = v["__value__"]
                flatten(v, out)
            else:
                out[k] = post[k](v) if k in post else v

    def decode(sample: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        flatten(sample, out)
        return sp.active_params(out)

    return top, decode


@register("hyperopt-tpe")
def _run_hyperopt(problem: Problem, seed: int, n_trials: int, **opts: Any) -> RunResult:
    try:
        import hyperopt
    except ImportError as e:
        raise Unavailable(f"hyperopt is not installed ({e})") from None
    import logging

    import numpy as np

    logging.getLogger("hyperopt").setLevel(logging.ERROR)
    space, decode = hyperopt_space(problem.space)
    values: list[float] = []
    sug: list[float] = []
    ev: list[float] = []
    last = [time.perf_counter()]

    def fn(sample: Any) -> dict[str, Any]:
        t_in = time.perf_counter()
        sug.append(t_in - last[0])  # since the previous objective returned: hyperopt's time
        params = decode(sample)
        t1 = time.perf_counter()
        v, dt = _safe_eval(problem, params)
        values.append(v)
        ev.append(dt)
        last[0] = time.perf_counter()
        sug[-1] += t1 - t_in
        if math.isfinite(v):
            return {"loss": v, "status": hyperopt.STATUS_OK}
        return {"status": hyperopt.STATUS_FAIL}

    algo = hyperopt.tpe.suggest
    if opts:
        import functools

        algo = functools.partial(hyperopt.tpe.suggest, **opts)
    hyperopt.fmin(
        fn,
        space,
        algo=algo,
        max_evals=n_trials,
        trials=hyperopt.Trials(),
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    return RunResult(problem.name, "hyperopt-tpe", seed, values, sug, ev)


# ======================================================================================
# SMAC3 (only where it imports)
# ======================================================================================


def configspace(space: dict[str, Any], seed: int) -> Any:
    """Convert a slimtune declarative space into a ConfigSpace (with conditions)."""
    import ConfigSpace as CS

    from slimtune.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )
    from slimtune.space import Space

    sp = Space.from_dict(space)
    cs = CS.ConfigurationSpace(seed=seed)
    hps: dict[str, Any] = {}
    for name, ps in sp.params.items():
        d = ps.distribution
        if isinstance(d, CategoricalDistribution):
            # ConfigSpace wants str/int/float choices; map every choice to its index string.
            h = CS.CategoricalHyperparameter(name, [str(i) for i in range(len(d.choices))])
        elif isinstance(d, IntDistribution):
            h = CS.UniformIntegerHyperparameter(name, d.low, d.high, log=d.log)
        else:
            assert isinstance(d, FloatDistribution)
            if d.step is not None:
                n = int(round((d.high - d.low) / d.step))
                h = CS.UniformIntegerHyperparameter(name, 0, n)
            else:
                h = CS.UniformFloatHyperparameter(name, d.low, d.high, log=d.log)
        hps[name] = h
    cs.add(list(hps.values()))
    conds = []
    for name, ps in sp.params.items():
        sub = []
        for par, allowed in ps.when.items():
            pd = sp.params[par].distribution
            assert isinstance(pd, CategoricalDistribution), "conditions on categoricals only"
            idx = [str(pd.index_of(a)) for a in allowed]
            sub.append(
                CS.EqualsCondition(hps[name], hps[par], idx[0])
                if len(idx) == 1
                else CS.InCondition(hps[name], hps[par], idx)
            )
        if len(sub) == 1:
            conds.append(sub[0])
        elif sub:
            conds.append(CS.AndConjunction(*sub))
    if conds:
        cs.add(conds)

    def decode(config: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        cfg = dict(config)
        for name, ps in sp.params.items():
            if name not in cfg:
                continue
            d, v = ps.distribution, cfg[name]
            if isinstance(d, CategoricalDistribution):
                out[name] = d.choices[int(v)]
            elif isinstance(d, IntDistribution):
                out[name] = int(v)
            elif d.step is not None:
                out[name] = float(min(d.low + int(v) * d.step, d.high))
            else:
                out[name] = float(v)
        return sp.active_params(out)

    return cs, decode


@register("smac")
def _run_smac(problem: Problem, seed: int, n_trials: int, **opts: Any) -> RunResult:
    try:
        import smac
        from smac import HyperparameterOptimizationFacade, Scenario
    except ImportError as e:
        raise Unavailable(f"smac is not installed ({e})") from None
    import tempfile

    cs, decode = configspace(problem.space, seed)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scenario = Scenario(
            cs, deterministic=True, n_trials=n_trials, seed=seed, output_directory=tmp
        )
        facade = HyperparameterOptimizationFacade(
            scenario, lambda config, seed=0: 0.0, overwrite=True, logging_level=40, **opts
        )
        values, sug, ev = [], [], []
        for _ in range(n_trials):
            t0 = time.perf_counter()
            info = facade.ask()
            params = decode(info.config)
            t1 = time.perf_counter()
            v, dt = _safe_eval(problem, params)
            t2 = time.perf_counter()
            facade.tell(info, smac.runhistory.TrialValue(cost=v if math.isfinite(v) else 1e10))
            t3 = time.perf_counter()
            values.append(v)
            sug.append((t1 - t0) + (t3 - t2))
            ev.append(dt)
    return RunResult(problem.name, "smac", seed, values, sug, ev)
