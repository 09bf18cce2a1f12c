"""Gaussian-process Bayesian optimisation (pure NumPy/SciPy). See ``docs/gp.md``."""

from slimtune.samplers.gp.sampler import GPSampler

__all__ = ["GPSampler"]
