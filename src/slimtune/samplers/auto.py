"""The default sampler of ``create_study``: picks a sampler from the study's shape.

Rule (re-evaluated at the start of every trial, from the storage alone):

* **GP** (:class:`~slimtune.samplers.GPSampler`; log EI, or log EHVI for several
  objectives) while the study is small and low-dimensional: fewer than ``gp_max_trials``
  complete trials, at most ``gp_max_dim`` parameters in the union space, and not deeply
  conditional (at most ``gp_max_conditional_fraction`` of the parameters inactive in some
  trial). A GP is the most sample-efficient model there (see ``docs/gp.md``, benchmark
  table), and its cost (cubic in the number of trials) is still small.
* **TPE** (:class:`~slimtune.samplers.TPESampler`, multivariate; its MOTPE split for
  several objectives) otherwise: large budgets, high-dimensional or mostly conditional
  spaces, where Parzen estimators are cheap and robust.
* If the TPE module cannot be imported, the GP is used everywhere (it subsamples its
  training set past ``max_train`` trials), and a quasi-random sampler past 64 parameters;
  if the GP cannot be imported either, TPE or quasi-random points.

Both delegates read everything from the study, so a switch mid-study (e.g. GP for the
first 250 trials, then TPE) loses nothing. All delegates get the same ``seed``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slimtune.distributions import BaseDistribution
from slimtune.samplers.base import BaseSampler
from slimtune.samplers.qmc import QMCSampler
from slimtune.space import union_search_space

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial, TrialState

__all__ = ["AutoSampler"]

logger = logging.getLogger("slimtune")


class AutoSampler(BaseSampler):
    """Delegates to the sampler that suits the study (see the module docstring).

    Args:
        seed: seed of every delegate.
        gp_max_trials: use the GP below this many complete trials.
        gp_max_dim: use the GP up to this many parameters.
        gp_max_conditional_fraction: use the GP while at most this fraction of the
            parameters is conditional (inactive in some trial).
        tpe_kwargs: keyword arguments of the TPE delegate (e.g. ``{"n_startup_trials": 12}``;
            the NAS search gives a multi-objective study its TPE defaults this way).
        gp_kwargs: keyword arguments of the GP delegate.
    """

    def __init__(
        self,
        seed: int | None = None,
        gp_max_trials: int = 250,
        gp_max_dim: int = 16,
        gp_max_conditional_fraction: float = 0.9,
        tpe_kwargs: dict[str, Any] | None = None,
        gp_kwargs: dict[str, Any] | None = None,
    ):
        if not isinstance(gp_max_trials, int) or gp_max_trials < 0:
            raise ValueError(f"gp_max_trials must be an int >= 0, got {gp_max_trials!r}.")
        if not isinstance(gp_max_dim, int) or gp_max_dim < 0:
            raise ValueError(f"gp_max_dim must be an int >= 0, got {gp_max_dim!r}.")
        if not 0.0 <= gp_max_conditional_fraction <= 1.0:
            raise ValueError(
                "gp_max_conditional_fraction must be in [0, 1], got "
                f"{gp_max_conditional_fraction!r}."
            )
        self.tpe_kwargs = self._check_kwargs("tpe_kwargs", tpe_kwargs)
        self.gp_kwargs = self._check_kwargs("gp_kwargs", gp_kwargs)
        self.seed = seed
        self.gp_max_trials = gp_max_trials
        self.gp_max_dim = gp_max_dim
        self.gp_max_conditional_fraction = gp_max_conditional_fraction
        self._samplers: dict[str, BaseSampler] = {}
        self._by_trial: dict[int, str] = {}
        self._last = "gp"
        self._reseed: int | None = None

    @staticmethod
    def _check_kwargs(what: str, kw: dict[str, Any] | None) -> dict[str, Any]:
        """A delegate's keyword arguments, checked now (not at the first trial, where a
        mistake would be swallowed by the fallback to another delegate)."""
        if kw is None:
            return {}
        if not isinstance(kw, dict):
            raise ValueError(f"{what} must be a dict of keyword arguments, got {kw!r}.")
        if "seed" in kw:
            raise ValueError(f"{what} must not set 'seed'; pass AutoSampler(seed=...) instead.")
        if kw:
            try:
                if what == "tpe_kwargs":
                    from slimtune.samplers.tpe import TPESampler as cls
                else:
                    from slimtune.samplers.gp import GPSampler as cls
            except ImportError:  # that delegate is unavailable anyway
                return dict(kw)
            try:
                cls(**kw)
            except (TypeError, ValueError) as e:
                raise ValueError(f"AutoSampler({what}={kw!r}): {e}") from None
        return dict(kw)

    # --- choice -------------------------------------------------------------------------
    def choose(self, study: Study) -> str:
        """Name of the delegate for the next trial: ``"gp"``, ``"tpe"`` or ``"qmc"``."""
        from slimtune.trial import TrialState

        trials = study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        space = union_search_space(trials)
        d = len(space)
        conditional = 0
        if d:
            seen = [t for t in trials if t.params]
            conditional = sum(1 for n in space if any(n not in t.params for t in seen))
        cond_frac = conditional / d if d else 0.0
        want_gp = (
            len(complete) < self.gp_max_trials
            and d <= self.gp_max_dim
            and cond_frac <= self.gp_max_conditional_fraction
        )
        order = ["gp", "tpe"] if want_gp else ["tpe", "gp"]
        if d > 64:
            order = ["tpe", "qmc"]
        for name in [*order, "qmc"]:
            if self._get(name) is not None:
                return name
        return "qmc"  # pragma: no cover - QMC always imports

    def _get(self, name: str) -> BaseSampler | None:
        if name in self._samplers:
            return self._samplers[name]
        try:
            if name == "gp":
                from slimtune.samplers.gp import GPSampler

                sampler: BaseSampler = GPSampler(seed=self.seed, **self.gp_kwargs)
            elif name == "tpe":
                from slimtune.samplers.tpe import TPESampler

                sampler = TPESampler(seed=self.seed, **self.tpe_kwargs)
            else:
                sampler = QMCSampler(seed=self.seed)
        except Exception as e:  # an unavailable sampler must not break the study
            logger.warning("AutoSampler: %s sampler unavailable (%s); falling back.", name, e)
            self._samplers[name] = None  # type: ignore[assignment]
            return None
        if self._reseed is not None:
            sampler.reseed_rng(self._reseed)
        self._samplers[name] = sampler
        return sampler

    def _for(self, trial: FrozenTrial) -> BaseSampler:
        name = self._by_trial.get(trial.number, self._last)
        sampler = self._get(name)
        return sampler if sampler is not None else self._get("qmc")  # type: ignore[return-value]

    @property
    def delegate(self) -> BaseSampler:
        """The sampler chosen for the latest trial."""
        return self._get(self._last) or self._get("qmc")  # type: ignore[return-value]

    # --- protocol -----------------------------------------------------------------------
    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        name = self.choose(study)
        if name != self._last:
            logger.info("AutoSampler: switching to %s at trial %d.", name, trial.number)
        self._last = name
        self._by_trial[trial.number] = name
        if len(self._by_trial) > 1024:  # keep the map small in long studies
            for k in sorted(self._by_trial)[:512]:
                del self._by_trial[k]
        self._for(trial).before_trial(study, trial)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self._for(trial).sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        return self._for(trial).sample_independent(study, trial, param_name, distribution)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self._for(trial).after_trial(study, trial, state, values)
        self._by_trial.pop(trial.number, None)

    def reseed_rng(self, seed: int | None = None) -> None:
        self._reseed = seed
        for s in self._samplers.values():
            if s is not None:
                s.reseed_rng(seed)

    def __repr__(self) -> str:
        return f"AutoSampler(seed={self.seed}, delegate={self._last!r})"
