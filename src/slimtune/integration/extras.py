"""Importing an optional dependency with a one-line message that names the extra."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, extra: str, what: str) -> ModuleType:
    """Import ``module``, or raise an ``ImportError`` naming ``pip install slimtune[extra]``.

    ``what`` is the feature that needs it, e.g. ``"SlimSearchCV"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f"{what} needs {module.split('.')[0]!r}, which is not installed: "
            f"pip install 'slimtune[{extra}]'"
        ) from e
