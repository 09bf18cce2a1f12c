"""The package version (Optuna's ``optuna.version`` module name)."""

__version__ = "0.1.0"
