"""Benchmarks: problems, optimizer adapters, the runner and the speed measurement.

* :mod:`benchmarks.problems`   -- ``Problem`` and the ``PROBLEMS`` registry (synthetic + sklearn)
* :mod:`benchmarks.optimizers` -- ``OPTIMIZERS`` registry: slimtune, Optuna, Hyperopt, SMAC
* :mod:`benchmarks.run`        -- ``python -m benchmarks.run --suite synthetic ...``
* :mod:`benchmarks.speed`      -- ``python -m benchmarks.speed`` (time per trial / suggestion)

See ``docs/benchmarks.md``.
"""

# Peers are run with their per-trial log lines off (Optuna at WARNING); slimtune the same, so
# that neither pays for formatting and writing one line per trial.
import slimtune as _st  # noqa: E402

_st.logging.set_verbosity(_st.logging.WARNING)
