"""Hyperparameter search with cross-validation, as a scikit-learn estimator.

:class:`SlimSearchCV` keeps the contract of Optuna's ``OptunaSearchCV`` (same arguments,
attributes and meaning; also exported under that name), so::

    search = SlimSearchCV(SVC(), {"C": FloatDistribution(1e-3, 1e3, log=True)}, n_trials=50)
    search.fit(X, y)
    search.best_params_, search.best_score_, search.predict(X_new)

Each trial samples the parameters, cross-validates a clone of the estimator and returns the
mean test score (the study maximizes). Per-split scores and times are kept as the trial's
user attributes (``split0_test_score``, ``mean_test_score``, ``std_fit_time``, ...), which
``cv_results_`` gathers.

Pruning (``enable_pruning=True``): with an estimator that has ``partial_fit`` the resource
is the epoch, as in Optuna (each step runs one ``partial_fit`` on every fold and reports the
mean test score, up to ``max_iter`` steps). Without ``partial_fit`` (where Optuna raises) the
resource is the fold: after fold ``k`` the mean score of folds ``0..k`` is reported at step
``k``, so a configuration that is clearly worse stops before all folds are fitted. When the
search makes its own study and pruning is on, the pruner is ``MedianPruner()``, Optuna's
default.

Needs the ``sklearn`` extra (``pip install 'slimtune[sklearn]'``).
"""

from __future__ import annotations

import copy
import importlib
import logging
import math
import numbers
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from slimtune.integration.convert import from_optuna_distribution
from slimtune.integration.extras import require

require("sklearn", "sklearn", "SlimSearchCV")

from sklearn.base import BaseEstimator, clone, is_classifier  # noqa: E402
from sklearn.exceptions import FitFailedWarning  # noqa: E402
from sklearn.metrics import check_scoring  # noqa: E402
from sklearn.model_selection import check_cv, cross_validate  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402
from sklearn.utils import get_tags as _sk_get_tags  # noqa: E402
from sklearn.utils.metaestimators import available_if  # noqa: E402
from sklearn.utils.validation import check_is_fitted  # noqa: E402

from slimtune.distributions import BaseDistribution  # noqa: E402
from slimtune.study import Study, create_study  # noqa: E402
from slimtune.trial import FrozenTrial, TrialPruned, TrialState  # noqa: E402

__all__ = ["SlimSearchCV", "OptunaSearchCV"]

logger = logging.getLogger("slimtune")


# --- indexing of array-likes (NumPy, lists, pandas, SciPy sparse) ------------------------
def _n_samples(x: Any) -> int:
    shape = getattr(x, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    return len(x)


def _take(x: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of ``x`` (None stays None)."""
    if x is None:
        return None
    if hasattr(x, "iloc"):
        return x.iloc[idx]
    if hasattr(x, "shape"):
        return x[idx]
    return [x[i] for i in idx]


def _subsample_fit_params(params: dict[str, Any], n: int, idx: np.ndarray) -> dict[str, Any]:
    """Fit parameters with one entry per sample are subsampled like ``X``; others kept."""
    out = {}
    for k, v in params.items():
        try:
            aligned = not isinstance(v, (str, bytes)) and _n_samples(v) == n
        except TypeError:
            aligned = False
        out[k] = _take(v, idx) if aligned else v
    return out


def _as_json_float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _store_scores(trial: Any, scores: Mapping[str, Any]) -> None:
    """``split{i}_*`` for the test/train scores, ``mean_*`` and ``std_*`` for everything."""
    for name, arr in scores.items():
        a = np.asarray(arr, dtype=float)
        if name in ("test_score", "train_score"):
            for i, s in enumerate(a):
                trial.set_user_attr(f"split{i}_{name}", _as_json_float(s))
        finite = a[~np.isnan(a)]
        trial.set_user_attr(f"mean_{name}", float(finite.mean()) if finite.size else math.nan)
        trial.set_user_attr(f"std_{name}", float(finite.std()) if finite.size else math.nan)


def _report_for_terminator(trial: Any, test_scores: list[float]) -> None:
    """Hand the fold scores to the terminator (``report_cross_validation_scores``) when
    ``slimtune.terminator`` provides it, as Optuna's search does."""
    try:
        terminator = importlib.import_module("slimtune.terminator")
    except ImportError:
        return
    report = getattr(terminator, "report_cross_validation_scores", None)
    if report is None or len(test_scores) < 2:
        return
    try:
        report(trial, test_scores)
    except ValueError as e:  # e.g. NaN scores: the search goes on
        logger.warning("SlimSearchCV: could not report the CV scores to the terminator: %s", e)


class _CVObjective:
    """One trial: sample, cross-validate a clone, store the scores, return the mean."""

    def __init__(
        self,
        estimator: Any,
        param_distributions: dict[str, BaseDistribution],
        X: Any,
        y: Any,
        cv: Any,
        enable_pruning: bool,
        error_score: Any,
        fit_params: dict[str, Any],
        groups: Any,
        max_iter: int,
        return_train_score: bool,
        scorer: Callable[..., float],
    ):
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.X, self.y, self.groups = X, y, groups
        self.cv = cv
        self.enable_pruning = enable_pruning
        self.error_score = error_score
        self.fit_params = fit_params
        self.max_iter = max_iter
        self.return_train_score = return_train_score
        self.scorer = scorer

    def __call__(self, trial: Any) -> float:
        params = {name: trial.suggest(name, d) for name, d in self.param_distributions.items()}
        estimator = clone(self.estimator).set_params(**params)
        fit_params = copy.deepcopy(self.fit_params)  # workers must not share them
        if self.enable_pruning and hasattr(estimator, "partial_fit"):
            scores = self._epochs_with_pruning(trial, estimator, fit_params)
        elif self.enable_pruning:
            scores = self._folds_with_pruning(trial, estimator, fit_params)
        else:
            scores = self._cross_validate(estimator, fit_params, self._splits())
        _store_scores(trial, scores)
        test = [float(s) for s in np.asarray(scores["test_score"], dtype=float)]
        _report_for_terminator(trial, test)
        return float(trial.user_attrs["mean_test_score"])

    def _splits(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return list(self.cv.split(self.X, self.y, groups=self.groups))

    def _cross_validate(
        self, estimator: Any, fit_params: dict[str, Any], splits: list[Any]
    ) -> dict[str, np.ndarray]:
        try:
            out = cross_validate(
                estimator,
                self.X,
                self.y,
                cv=splits,
                error_score=self.error_score,
                params=fit_params,
                return_train_score=self.return_train_score,
                scoring=self.scorer,
            )
        except ValueError as e:
            # scikit-learn raises when every fit failed (error_score is numeric here, or
            # the fit's own error would have been raised): score them all error_score, as
            # Optuna does, and say why.
            if "fits failed" not in str(e):
                raise
            lines = [ln for ln in str(e).strip().splitlines() if ln.strip()]
            warnings.warn(
                f"all {len(splits)} fits failed with {estimator!r}; their score is "
                f"error_score={self.error_score!r}. The error: {lines[-1].strip()}",
                FitFailedWarning,
                stacklevel=2,
            )
            n = len(splits)
            out = {
                "fit_time": np.full(n, np.nan),
                "score_time": np.full(n, np.nan),
                "test_score": np.full(n, float(self.error_score)),
            }
            if self.return_train_score:
                out["train_score"] = np.full(n, float(self.error_score))
        return {k: np.asarray(v, dtype=float) for k, v in out.items() if k != "estimator"}

    def _folds_with_pruning(
        self, trial: Any, estimator: Any, fit_params: dict[str, Any]
    ) -> dict[str, np.ndarray]:
        """Folds as the pruning resource: report the running mean after each fold."""
        parts: dict[str, list[float]] = {}
        for k, split in enumerate(self._splits()):
            one = self._cross_validate(estimator, fit_params, [split])
            for name, arr in one.items():
                parts.setdefault(name, []).extend(arr.tolist())
            trial.report(float(np.nanmean(parts["test_score"])), step=k)
            if trial.should_prune():
                _store_scores(trial, parts)
                raise TrialPruned(f"trial pruned after fold {k}.")
        return {name: np.asarray(v) for name, v in parts.items()}

    def _epochs_with_pruning(
        self, trial: Any, estimator: Any, fit_params: dict[str, Any]
    ) -> dict[str, np.ndarray]:
        """Epochs as the pruning resource (estimators with ``partial_fit``), as in Optuna."""
        pf_params = dict(fit_params)
        if is_classifier(estimator):
            y = np.asarray(self.y) if self.y is not None else None
            pf_params.setdefault("classes", np.unique(y) if y is not None else None)
        splits = self._splits()
        n = len(splits)
        models = [clone(estimator) for _ in range(n)]
        scores = {
            "fit_time": np.zeros(n),
            "score_time": np.zeros(n),
            "test_score": np.full(n, np.nan),
        }
        if self.return_train_score:
            scores["train_score"] = np.full(n, np.nan)
        for step in range(self.max_iter):
            for i, (train, test) in enumerate(splits):
                self._partial_fit_one(models[i], train, test, pf_params, scores, i)
            trial.report(float(np.nanmean(scores["test_score"])), step=step)
            if trial.should_prune():
                _store_scores(trial, scores)
                raise TrialPruned(f"trial pruned at iteration {step}.")
        return scores

    def _partial_fit_one(
        self,
        model: Any,
        train: np.ndarray,
        test: np.ndarray,
        params: dict[str, Any],
        scores: dict[str, np.ndarray],
        i: int,
    ) -> None:
        X_tr, y_tr = _take(self.X, train), _take(self.y, train)
        X_te, y_te = _take(self.X, test), _take(self.y, test)
        t0 = time.perf_counter()
        try:
            model.partial_fit(X_tr, y_tr, **params)
        except Exception:
            if isinstance(self.error_score, str) and self.error_score == "raise":
                raise
            scores["fit_time"][i] += time.perf_counter() - t0
            scores["test_score"][i] = self.error_score
            if self.return_train_score:
                scores["train_score"][i] = self.error_score
            return
        t1 = time.perf_counter()
        scores["fit_time"][i] += t1 - t0
        scores["test_score"][i] = self.scorer(model, X_te, y_te)
        scores["score_time"][i] += time.perf_counter() - t1
        if self.return_train_score:
            scores["train_score"][i] = self.scorer(model, X_tr, y_tr)


def _on_best(method: str) -> Callable[[Any], bool]:
    """``available_if`` check: the (fitted best, else the given) estimator has ``method``."""

    def check(self: SlimSearchCV) -> bool:
        est = getattr(self, "best_estimator_", None)
        return hasattr(est if est is not None else self.estimator, method)

    return check


class SlimSearchCV(BaseEstimator):
    """Search an estimator's hyperparameters with cross-validation (Optuna's
    ``OptunaSearchCV`` contract).

    Args:
        estimator: a scikit-learn estimator; it needs ``score`` unless ``scoring`` is given.
        param_distributions: parameter name -> distribution (slimtune's; Optuna's work too).
        cv: None (5 folds), a number of folds, a CV splitter or an iterable of
            (train, test) index arrays; an int means stratified folds for classifiers.
        enable_pruning: prune trials (epochs via ``partial_fit`` when the estimator has it,
            otherwise folds; see the module docs).
        error_score: the score of a fold whose fit fails, or ``"raise"``.
        max_iter: epochs of ``partial_fit`` per trial (with ``enable_pruning``).
        n_jobs: trials in parallel (slimtune runs worker processes); None means 1.
        n_trials: trials to run (None: until ``timeout``).
        random_state: seed (or ``RandomState``) for subsampling and the sampler.
        refit: refit the best configuration on all of ``X`` (``best_estimator_``).
        return_train_score: also score each fold's training part.
        scoring: a scorer name or callable; None uses the estimator's ``score``.
        study: a study to run in (it must maximize); None creates one in memory with a
            seeded ``TPESampler``.
        subsample: the share (float) or number (int) of samples used by the search.
        timeout: seconds for the search (None: no limit).
        verbose: 0 warnings only, 1 info, 2 debug (the "slimtune" logger).
        callbacks: called as ``callback(study, frozen_trial)`` after each trial.
        catch: exception types a trial may raise without stopping the search.

    Attributes (after ``fit``): ``best_estimator_``, ``best_params_``, ``best_score_``,
    ``best_index_`` (the best trial's number), ``best_trial_``, ``study_``, ``trials_``,
    ``n_trials_``, ``n_splits_``, ``classes_``, ``cv_results_``, ``refit_time_``,
    ``sample_indices_``, ``scorer_``, ``user_attrs_``.

    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from slimtune.distributions import IntDistribution
    >>> X, y = load_iris(return_X_y=True)
    >>> search = SlimSearchCV(DecisionTreeClassifier(random_state=0),
    ...                       {"max_depth": IntDistribution(1, 6)}, n_trials=5, random_state=0)
    >>> search.fit(X, y).best_score_ > 0.9
    True
    """

    _required_parameters = ["estimator", "param_distributions"]

    def __init__(
        self,
        estimator: Any,
        param_distributions: Mapping[str, Any],
        *,
        cv: Any = None,
        enable_pruning: bool = False,
        error_score: float | str = np.nan,
        max_iter: int = 1000,
        n_jobs: int | None = None,
        n_trials: int | None = 10,
        random_state: int | np.random.RandomState | None = None,
        refit: bool = True,
        return_train_score: bool = False,
        scoring: Callable[..., float] | str | None = None,
        study: Study | None = None,
        subsample: float | int = 1.0,
        timeout: float | None = None,
        verbose: int = 0,
        callbacks: list[Callable[[Study, FrozenTrial], None]] | None = None,
        catch: Iterable[type[Exception]] | type[Exception] = (),
    ) -> None:
        # scikit-learn convention: store the arguments as given; fit validates them.
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.cv = cv
        self.enable_pruning = enable_pruning
        self.error_score = error_score
        self.max_iter = max_iter
        self.n_jobs = n_jobs
        self.n_trials = n_trials
        self.random_state = random_state
        self.refit = refit
        self.return_train_score = return_train_score
        self.scoring = scoring
        self.study = study
        self.subsample = subsample
        self.timeout = timeout
        self.verbose = verbose
        self.callbacks = callbacks
        self.catch = catch

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        inner = _sk_get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.non_deterministic = True
        return tags

    # --- validation ------------------------------------------------------------------
    def _checked_distributions(self) -> dict[str, BaseDistribution]:
        if not isinstance(self.param_distributions, Mapping):
            raise TypeError(
                "param_distributions must be a mapping of parameter name -> distribution, "
                f"got {type(self.param_distributions).__name__}."
            )
        out = {}
        for name, dist in self.param_distributions.items():
            try:
                out[name] = from_optuna_distribution(dist)
            except TypeError:
                raise TypeError(
                    f"param_distributions[{name!r}] must be a distribution such as "
                    f"FloatDistribution(1e-3, 1e3, log=True), got {dist!r}."
                ) from None
        return out

    def _check_params(self) -> None:
        if not hasattr(self.estimator, "fit"):
            raise TypeError(
                f"estimator must be a scikit-learn estimator (with fit), got {self.estimator!r}."
            )
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, numbers.Integral):
            raise TypeError(f"max_iter must be an int > 0, got {self.max_iter!r}.")
        if self.max_iter <= 0:
            raise ValueError(f"max_iter must be > 0, got {self.max_iter}.")
        es = self.error_score
        if not (es == "raise" if isinstance(es, str) else isinstance(es, numbers.Number)):
            raise ValueError(f"error_score must be 'raise' or a number, got {es!r}.")
        if self.study is not None:
            dirs = self.study.directions
            if dirs != ["maximize"]:
                raise ValueError(
                    f"the study must have direction 'maximize' (scikit-learn scores grow "
                    f"with quality), got {dirs}; create it with direction='maximize'."
                )
        sub = self.subsample
        if isinstance(sub, bool) or not isinstance(sub, numbers.Number):
            raise TypeError(f"subsample must be a float in (0, 1] or an int > 0, got {sub!r}.")
        if isinstance(sub, numbers.Integral) and sub <= 0:
            raise ValueError(f"subsample must be an int > 0 (a number of samples), got {sub}.")
        if not isinstance(sub, numbers.Integral) and not 0.0 < float(sub) <= 1.0:
            raise ValueError(f"subsample must be in (0, 1] as a share of samples, got {sub}.")

    def _check_is_fitted(self) -> None:
        attrs = ["n_splits_", "sample_indices_", "scorer_", "study_"]
        if self.refit:
            attrs += ["best_estimator_", "refit_time_"]
        check_is_fitted(self, attrs)

    # --- fit -------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, groups: Any = None, **fit_params: Any) -> SlimSearchCV:
        """Run the search on ``X``, ``y`` (``groups`` for group-aware CV splitters;
        ``fit_params`` go to the estimator's ``fit``); then refit the best configuration."""
        dists = self._checked_distributions()
        self._check_params()
        rng = check_random_state(self.random_state)
        n = _n_samples(X)
        n_keep = self.subsample
        if not isinstance(n_keep, numbers.Integral):
            n_keep = int(float(n_keep) * n)
        n_keep = int(n_keep)
        if n_keep < 1 or n_keep > n:
            raise ValueError(f"subsample keeps {n_keep} of {n} samples; it must keep 1..{n}.")
        self.sample_indices_ = np.arange(n)
        if n_keep < n:
            self.sample_indices_ = np.sort(rng.choice(n, n_keep, replace=False))
        idx = self.sample_indices_
        X_s, y_s, g_s = _take(X, idx), _take(y, idx), _take(groups, idx)
        fp_s = _subsample_fit_params(fit_params, n, idx)

        cv = check_cv(self.cv, y_s, classifier=is_classifier(self.estimator))
        self.n_splits_ = cv.get_n_splits(X_s, y_s, groups=g_s)
        self.scorer_ = check_scoring(self.estimator, scoring=self.scoring)

        if self.study is None:
            from slimtune.pruners import MedianPruner
            from slimtune.samplers import TPESampler

            seed = int(rng.randint(0, np.iinfo(np.int32).max))
            self.study_ = create_study(
                direction="maximize",
                sampler=TPESampler(seed=seed),
                pruner=MedianPruner() if self.enable_pruning else None,
            )
        else:
            self.study_ = self.study

        objective = _CVObjective(
            self.estimator, dists, X_s, y_s, cv, self.enable_pruning, self.error_score,
            fp_s, g_s, int(self.max_iter), self.return_train_score, self.scorer_,
        )
        old_level = logger.level
        logger.setLevel(
            logging.DEBUG if self.verbose > 1 else logging.INFO if self.verbose > 0
            else logging.WARNING
        )
        try:
            logger.info("SlimSearchCV: searching with %d samples...", len(idx))
            self.study_.optimize(
                objective,
                n_trials=self.n_trials,
                timeout=self.timeout,
                n_jobs=self.n_jobs or 1,
                catch=self.catch,
                callbacks=self.callbacks,
            )
            if self.refit:
                self._refit(X, y, **fit_params)
        finally:
            logger.setLevel(old_level)
        return self

    def _refit(self, X: Any, y: Any, **fit_params: Any) -> None:
        if not self.study_.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            raise ValueError(
                "SlimSearchCV: no trial completed, so there is nothing to refit (the fold "
                "fits failed or every trial was pruned); pass error_score='raise' to see "
                "the error, or refit=False to keep the study."
            )
        est = clone(self.estimator).set_params(**self.study_.best_params)
        t0 = time.perf_counter()
        est.fit(X, y, **fit_params)
        self.refit_time_ = time.perf_counter() - t0
        self.best_estimator_ = est
        logger.info("SlimSearchCV: refitted the best estimator in %.3f s", self.refit_time_)

    def _best(self) -> Any:
        """The refitted best estimator, or a clear error when there is none."""
        self._check_is_fitted()
        if not self.refit:
            raise AttributeError(
                "this SlimSearchCV was fitted with refit=False, so it has no best_estimator_; "
                "fit with refit=True, or fit clone(estimator).set_params(**best_params_)."
            )
        return self.best_estimator_

    # --- results ---------------------------------------------------------------------
    @property
    def best_trial_(self) -> FrozenTrial:
        """The best trial of the study."""
        self._check_is_fitted()
        return self.study_.best_trial

    @property
    def best_params_(self) -> dict[str, Any]:
        """The parameters of the best trial."""
        self._check_is_fitted()
        return self.study_.best_params

    @property
    def best_score_(self) -> float:
        """The mean cross-validated score of the best trial."""
        self._check_is_fitted()
        return self.study_.best_value

    @property
    def best_index_(self) -> int:
        """The number of the best trial (``best_trial_.number``)."""
        return self.best_trial_.number

    @property
    def trials_(self) -> list[FrozenTrial]:
        """All trials of the study."""
        self._check_is_fitted()
        return self.study_.trials

    @property
    def n_trials_(self) -> int:
        """How many trials the study holds."""
        return len(self.trials_)

    @property
    def user_attrs_(self) -> dict[str, Any]:
        """The study's user attributes."""
        self._check_is_fitted()
        return self.study_.user_attrs

    @property
    def cv_results_(self) -> dict[str, list[Any]]:
        """Metric name -> one value per trial (the trials' user attributes: split scores,
        means, standard deviations and times; NaN where a trial lacks one), plus
        ``params`` and ``state``."""
        trials = self.trials_
        names: list[str] = []
        for t in trials:
            names.extend(k for k in t.user_attrs if k not in names)
        out: dict[str, list[Any]] = {k: [t.user_attrs.get(k, math.nan) for t in trials]
                                     for k in names}
        out["params"] = [dict(t.params) for t in trials]
        out["state"] = [t.state.name for t in trials]
        return out

    @property
    def classes_(self) -> Any:
        """The class labels of the best estimator."""
        return self._best().classes_

    def set_user_attr(self, key: str, value: Any) -> None:
        """Set a user attribute of the study."""
        self._check_is_fitted()
        self.study_.set_user_attr(key, value)

    def trials_dataframe(self, *args: Any, **kwargs: Any) -> Any:
        """The study's ``trials_dataframe`` (needs pandas)."""
        self._check_is_fitted()
        return self.study_.trials_dataframe(*args, **kwargs)

    def score(self, X: Any, y: Any = None) -> float:
        """The score of the best estimator on ``X``, ``y`` (``scorer_``)."""
        return float(self.scorer_(self._best(), X, y))

    @available_if(_on_best("predict"))
    def predict(self, X: Any, **kwargs: Any) -> Any:
        """``predict`` of the best estimator."""
        return self._best().predict(X, **kwargs)

    @available_if(_on_best("predict_proba"))
    def predict_proba(self, X: Any, **kwargs: Any) -> Any:
        """``predict_proba`` of the best estimator."""
        return self._best().predict_proba(X, **kwargs)

    @available_if(_on_best("predict_log_proba"))
    def predict_log_proba(self, X: Any, **kwargs: Any) -> Any:
        """``predict_log_proba`` of the best estimator."""
        return self._best().predict_log_proba(X, **kwargs)

    @available_if(_on_best("decision_function"))
    def decision_function(self, X: Any, **kwargs: Any) -> Any:
        """``decision_function`` of the best estimator."""
        return self._best().decision_function(X, **kwargs)

    @available_if(_on_best("transform"))
    def transform(self, X: Any, *args: Any, **kwargs: Any) -> Any:
        """``transform`` of the best estimator."""
        return self._best().transform(X, *args, **kwargs)

    @available_if(_on_best("inverse_transform"))
    def inverse_transform(self, X: Any, *args: Any, **kwargs: Any) -> Any:
        """``inverse_transform`` of the best estimator."""
        return self._best().inverse_transform(X, *args, **kwargs)

    @available_if(_on_best("score_samples"))
    def score_samples(self, X: Any) -> Any:
        """``score_samples`` of the best estimator."""
        return self._best().score_samples(X)


OptunaSearchCV = SlimSearchCV  # Optuna's name
