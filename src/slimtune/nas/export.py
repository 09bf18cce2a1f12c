"""Saving and exporting a chosen model: spec YAML + weights, TorchScript and ONNX.

``export_model`` writes what was asked and checks each export against the PyTorch model
on a random input (``max |difference|`` reported), so a broken export never goes
unnoticed.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from slimtune.nas.spec import ModelSpec, SpecNet, build_model, load_spec

__all__ = [
    "export_model",
    "export_onnx",
    "export_torchscript",
    "load_model",
    "onnx_available",
    "onnx_predict",
    "save_model",
]


def save_model(model: SpecNet, directory: str | Path, stem: str = "model") -> dict[str, Path]:
    """Write ``<stem>.yaml`` (the spec) and ``<stem>.pt`` (the state dict)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    spec_path, w_path = d / f"{stem}.yaml", d / f"{stem}.pt"
    model.spec.save(spec_path)
    torch.save(model.state_dict(), w_path)
    return {"spec": spec_path, "weights": w_path}


def load_model(spec: str | Path | ModelSpec, weights: str | Path | None = None) -> SpecNet:
    """Build a model from its spec and load ``weights`` (a state dict file) if given."""
    model = build_model(load_spec(spec), check=False)
    if weights is not None:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    return model.eval()


def _example(model: SpecNet, input_size: tuple[int, int] | None, seed: int = 0) -> torch.Tensor:
    size = input_size or model.spec.input_size
    if size is None:
        raise ValueError("export needs input_size (argument or spec `input_size`).")
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, model.spec.in_channels, int(size[0]), int(size[1]), generator=g)


def export_torchscript(
    model: SpecNet, path: str | Path, input_size: tuple[int, int] | None = None
) -> Path:
    """Trace the model (eval mode) and save it as TorchScript."""
    model = model.eval().cpu()
    x = _example(model, input_size)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript still works
        ts = torch.jit.trace(model, x)
    path = Path(path)
    ts.save(str(path))
    return path


def onnx_available() -> bool:
    """Whether the ``onnx`` package (needed by ``torch.onnx.export``) is installed."""
    return importlib.util.find_spec("onnx") is not None


def export_onnx(
    model: SpecNet,
    path: str | Path,
    input_size: tuple[int, int] | None = None,
    opset: int = 17,
) -> Path:
    """Export to ONNX with a dynamic batch dimension (needs the ``onnx`` package)."""
    if not onnx_available():
        raise ImportError("ONNX export needs the `onnx` package: pip install onnx")
    model = model.eval().cpu()
    x = _example(model, input_size)
    path = Path(path)
    kw: dict[str, Any] = {
        "input_names": ["input"],
        "output_names": ["logits"],
        "opset_version": opset,
        "dynamic_axes": {"input": {0: "batch"}, "logits": {0: "batch"}},
    }
    # The TorchScript-based exporter: the dynamo one needs onnxscript. Its deprecation
    # warning is not actionable for users.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            torch.onnx.export(model, (x,), str(path), dynamo=False, **kw)
        except TypeError:  # older torch without the dynamo flag
            torch.onnx.export(model, (x,), str(path), **kw)
    return path


def onnx_predict(path: str | Path, x: np.ndarray) -> np.ndarray:
    """Run an ONNX file on ``x``: with onnxruntime when installed, else with the ``onnx``
    package's reference evaluator (pure Python, fine for small models)."""
    if importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return sess.run(None, {"input": x})[0]
    import onnx
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(onnx.load(str(path))).run(None, {"input": x})[0]


def export_model(
    model: SpecNet,
    directory: str | Path,
    formats: tuple[str, ...] = ("torchscript", "onnx"),
    stem: str = "model",
    input_size: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Save spec + weights and the requested exports; verify each reloads and predicts the
    same as the PyTorch model (``max_abs_diff`` in the returned dict)."""
    allowed = {"torchscript", "onnx"}
    bad = set(formats) - allowed
    if bad:
        raise ValueError(f"export formats {sorted(bad)} unknown; use {sorted(allowed)}.")
    out: dict[str, Any] = dict(save_model(model, directory, stem))
    d = Path(directory)
    model = model.eval().cpu()
    x = _example(model, input_size, seed=1)
    with torch.no_grad():
        ref = model(x).numpy()
    if "torchscript" in formats:
        p = export_torchscript(model, d / f"{stem}.torchscript.pt", input_size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ts = torch.jit.load(str(p))
        with torch.no_grad():
            got = ts(x).numpy()
        out["torchscript"] = p
        out["torchscript_max_abs_diff"] = float(np.abs(got - ref).max())
    if "onnx" in formats:
        if onnx_available():
            p = export_onnx(model, d / f"{stem}.onnx", input_size)
            out["onnx"] = p
            got = onnx_predict(p, x.numpy())
            out["onnx_max_abs_diff"] = float(np.abs(got - ref).max())
        else:
            out["onnx_skipped"] = "the onnx package is not installed"
    return out
