"""Profiling: parameters, MACs (``FlopCounterMode``, on the meta device) and latency.

MACs are half of the FLOPs that :class:`torch.utils.flop_counter.FlopCounterMode` counts
for convolutions and matrix products (the convention of the MobileNet papers:
element-wise ops, BN and activations are not counted). The count runs on the ``meta``
device, so even a large model costs no memory or compute to profile.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from slimtune.nas.spec import ModelSpec, build_model, load_spec

__all__ = [
    "Profile",
    "count_macs",
    "count_params",
    "measure_latency",
    "profile_spec",
    "warm_up",
]


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (BN affine included, buffers excluded)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only))


def count_macs(model: nn.Module, input_shape: tuple[int, ...], meta: bool = True) -> int:
    """Multiply-accumulates of one forward pass on an input of ``input_shape`` (with the
    batch dimension, e.g. ``(1, 3, 224, 224)``), counted by ``FlopCounterMode``."""
    if len(input_shape) != 4:
        raise ValueError(
            f"input_shape must be (batch, channels, height, width), got {input_shape}."
        )
    if meta:
        m = copy.deepcopy(model).to("meta") if _device(model) != "meta" else model
        x = torch.empty(*input_shape, device="meta")
    else:
        m = model
        x = torch.zeros(*input_shape, device=_device(model))
    was_training = m.training
    m.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        m(x)
    if was_training:
        m.train()
    return int(counter.get_total_flops() // 2)


def warm_up() -> None:
    """Pay FlopCounterMode's one-off start-up cost (seconds: lazy imports) now, e.g. in a
    parent process before worker processes are forked."""
    count_macs(nn.Conv2d(1, 1, 1), (1, 1, 1, 1))


def _device(model: nn.Module) -> str:
    for p in model.parameters():
        return p.device.type
    return "cpu"


def measure_latency(
    model: nn.Module,
    input_shape: tuple[int, ...],
    threads: int = 1,
    warmup: int = 10,
    repeats: int = 30,
    device: str = "cpu",
) -> float:
    """Median wall time (milliseconds) of one forward pass in inference mode, after
    ``warmup`` untimed runs, with ``threads`` intra-op threads (restored afterwards)."""
    if repeats < 1 or warmup < 0 or threads < 1:
        raise ValueError(
            f"need repeats >= 1, warmup >= 0, threads >= 1; got repeats={repeats}, "
            f"warmup={warmup}, threads={threads}."
        )
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    m = copy.deepcopy(model).to(device).eval()
    x = torch.randn(*input_shape, device=device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    times = []
    try:
        with torch.inference_mode():
            for _ in range(warmup):
                m(x)
            sync()
            for _ in range(repeats):
                t0 = time.perf_counter()
                m(x)
                sync()
                times.append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(old_threads)
    return 1000.0 * statistics.median(times)


@dataclass
class Profile:
    """What :func:`profile_spec` measured: params, MACs and (optionally) latency in ms."""

    params: int
    macs: int
    latency_ms: float | None = None
    input_shape: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def profile_spec(
    spec: ModelSpec | Mapping[str, Any] | str | Path,
    input_size: tuple[int, int] | None = None,
    latency: bool = False,
    threads: int = 1,
    repeats: int = 30,
) -> Profile:
    """Params and MACs of a spec at ``input_size`` (or the spec's ``input_size``), built on
    the meta device (nothing allocated); latency only when asked (that builds it on CPU)."""
    spec = load_spec(spec)
    size = input_size or spec.input_size
    if size is None:
        raise ValueError("profile_spec needs input_size (argument or spec `input_size`).")
    shape = (1, spec.in_channels, int(size[0]), int(size[1]))
    with torch.device("meta"):
        meta_model = build_model(spec, check=False)
    params = count_params(meta_model)
    macs = count_macs(meta_model, shape)
    lat = None
    if latency:
        lat = measure_latency(build_model(spec, check=False), shape, threads, repeats=repeats)
    return Profile(params=params, macs=macs, latency_ms=lat, input_shape=shape)
