"""Lightweight-model search (needs PyTorch: ``pip install slimtune[nas]``).

* :mod:`~slimtune.nas.blocks`: Conv, DWConv, DWSConv, Bottleneck, InvertedResidual (v2/v3),
  MBConv, Fire, Ghost, pooling, Classify; activations relu/relu6/hardswish/silu/gelu.
* :mod:`~slimtune.nas.spec`: YAML model specs ``[repeat, Block, {args}]`` <-> ``nn.Module``.
* :mod:`~slimtune.nas.space`: the architecture + training search space from a config.
* :mod:`~slimtune.nas.profile`: params, MACs (FlopCounterMode on the meta device), latency.
* :mod:`~slimtune.nas.latency`: the per-block latency table (predicted latency per machine).
* :mod:`~slimtune.nas.train`: fidelity-aware training (epochs, subset, resolution).
* :mod:`~slimtune.nas.data`: digits, MNIST-1D, image folders, NumPy arrays (all offline).
* :mod:`~slimtune.nas.config`: the search config, parsed and validated, defaults resolved once.
* :mod:`~slimtune.nas.objective`: the trial objective and the record each trial stores.
* :mod:`~slimtune.nas.selection`: candidates, Pareto front, pick rules.
* :mod:`~slimtune.nas.outputs`: csv tables, plot, exports of the chosen model, summary.
* :mod:`~slimtune.nas.search`: the multi-objective search (orchestration, retrain, resume).
* :mod:`~slimtune.nas.export`: spec + weights, TorchScript, ONNX.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

if importlib.util.find_spec("torch") is None:  # pragma: no cover - depends on the environment
    raise ImportError("slimtune.nas needs PyTorch: pip install 'slimtune[nas]' (or install torch).")

# Names are imported lazily so that `import slimtune.nas` (e.g. by the CLI) does not pay for
# importing torch until something is used.
_EXPORTS = {
    "Profile": "profile",
    "count_macs": "profile",
    "count_params": "profile",
    "measure_latency": "profile",
    "profile_spec": "profile",
    "LatencyTable": "latency",
    "PICK_RULES": "selection",
    "Candidate": "selection",
    "collect_candidates": "selection",
    "pick_model": "selection",
    "register_pick_rule": "selection",
    "ConfigError": "config",
    "SearchConfig": "config",
    "load_config": "config",
    "NASObjective": "objective",
    "TrialRecord": "objective",
    "SearchResult": "search",
    "export_trial": "search",
    "run_search": "search",
    "ModelSpec": "spec",
    "SpecError": "spec",
    "SpecNet": "spec",
    "build_model": "spec",
    "load_spec": "spec",
    "export_model": "export",
    "load_model": "export",
    "load_data": "data",
    "make_image_folder": "data",
    "ModelCard": "card",
    "model_card": "card",
    "render_card": "card",
    "Dataset": "data",
    "TrainConfig": "train",
    "train_model": "train",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"slimtune.nas.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'slimtune.nas' has no attribute {name!r}")
