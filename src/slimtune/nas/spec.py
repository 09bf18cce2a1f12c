"""YAML model specs: a header and a list of ``[repeat, Block, {args}]`` entries.

Example::

    in_channels: 1          # input channels
    num_classes: 10
    depth_multiple: 1.0     # repeats are scaled (at least 1)
    width_multiple: 1.0     # channel arguments (c2, exp, sq, hidden) are scaled ...
    channel_divisor: 8      # ... then rounded to multiples of this (1 = no rounding)
    input_size: [8, 8]      # optional: checked at build time, used for profiling
    layers:
      - [1, Conv, {c2: 16, k: 3, s: 1, act: relu6}]
      - [2, InvertedResidual, {c2: 24, t: 6, s: 2}]   # stride only on the first repeat
      - [1, Classify, {}]                             # c2 defaults to num_classes

:func:`build_model` turns a spec into an ``nn.Module`` (:class:`SpecNet`); the channels of
each entry's input come from the previous entry. Problems (unknown block, unknown or bad
argument, zero channels, a shape that does not fit) raise :class:`SpecError` naming the
entry (``layers[3] (InvertedResidual)``) and the problem.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from slimtune.nas.blocks import BLOCKS, CHANNEL_ARGS, make_divisible

__all__ = ["ModelSpec", "SpecError", "SpecNet", "build_model", "load_spec"]

_ALIASES = {
    "ir": "InvertedResidual",
    "mbv2": "InvertedResidual",
    "ir3": "InvertedResidualV3",
    "mbv3": "InvertedResidualV3",
    "mbconv": "MBConv",
    "dws": "DWSConv",
    "dwsep": "DWSConv",
    "dw": "DWConv",
    "conv": "Conv",
    "fire": "Fire",
    "ghost": "Ghost",
    "bottleneck": "Bottleneck",
    "maxpool": "MaxPool",
    "avgpool": "AvgPool",
    "classify": "Classify",
}
_HEADER = {
    "in_channels",
    "num_classes",
    "depth_multiple",
    "width_multiple",
    "channel_divisor",
    "input_size",
    "layers",
    "name",
}


class SpecError(ValueError):
    """An invalid model spec; the message names the entry and the problem."""


def resolve_block(name: str) -> str:
    """The registry name of a block, accepting short aliases (``ir``, ``mbconv``...)."""
    if name in BLOCKS:
        return name
    alias = _ALIASES.get(str(name).lower())
    if alias is None:
        raise SpecError(
            f"unknown block {name!r}; use one of {sorted(BLOCKS)} (or aliases {sorted(_ALIASES)})."
        )
    return alias


@dataclass
class ModelSpec:
    """A model spec: the header fields and the layer list (each ``[repeat, block, args]``)."""

    layers: list[list[Any]]
    in_channels: int = 3
    num_classes: int = 10
    depth_multiple: float = 1.0
    width_multiple: float = 1.0
    channel_divisor: int = 8
    input_size: tuple[int, int] | None = None
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelSpec:
        """Validate and build a spec from a mapping (e.g. parsed YAML)."""
        if not isinstance(d, Mapping):
            raise SpecError(f"a model spec must be a mapping, got {type(d).__name__}.")
        unknown = set(d) - _HEADER
        if unknown:
            raise SpecError(f"unknown spec key(s) {sorted(unknown)}; allowed: {sorted(_HEADER)}.")
        if "layers" not in d or not isinstance(d["layers"], list) or not d["layers"]:
            raise SpecError("the spec needs `layers`: a non-empty list of [repeat, Block, {args}].")
        for key in ("in_channels", "num_classes", "channel_divisor"):
            if key in d and (not isinstance(d[key], int) or isinstance(d[key], bool) or d[key] < 1):
                raise SpecError(f"`{key}` must be a positive int, got {d[key]!r}.")
        for key in ("depth_multiple", "width_multiple"):
            if key in d and (not isinstance(d[key], (int, float)) or d[key] <= 0):
                raise SpecError(f"`{key}` must be a number > 0, got {d[key]!r}.")
        layers = []
        for i, entry in enumerate(d["layers"]):
            if not isinstance(entry, (list, tuple)) or len(entry) not in (2, 3):
                raise SpecError(f"layers[{i}]: expected [repeat, Block, {{args}}], got {entry!r}.")
            rep, block = entry[0], entry[1]
            args = dict(entry[2]) if len(entry) == 3 and entry[2] else {}
            if not isinstance(rep, int) or isinstance(rep, bool) or rep < 1:
                raise SpecError(f"layers[{i}] ({block}): repeat must be an int >= 1, got {rep!r}.")
            try:
                block = resolve_block(str(block))
            except SpecError as e:
                raise SpecError(f"layers[{i}]: {e}") from None
            layers.append([rep, block, args])
        size = d.get("input_size")
        if size is not None:
            if isinstance(size, int):
                size = (size, size)
            if not (
                isinstance(size, (list, tuple))
                and len(size) == 2
                and all(isinstance(v, int) and v >= 1 for v in size)
            ):
                raise SpecError(f"`input_size` must be [height, width] ints, got {size!r}.")
            size = (int(size[0]), int(size[1]))
        return cls(
            layers=layers,
            in_channels=int(d.get("in_channels", 3)),
            num_classes=int(d.get("num_classes", 10)),
            depth_multiple=float(d.get("depth_multiple", 1.0)),
            width_multiple=float(d.get("width_multiple", 1.0)),
            channel_divisor=int(d.get("channel_divisor", 8)),
            input_size=size,
            name=d.get("name"),
        )

    @classmethod
    def from_yaml(cls, source: str | Path) -> ModelSpec:
        """Read a spec from YAML text or a file path."""
        text = _read(source)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise SpecError(f"invalid YAML: {e}") from None
        if isinstance(data, Mapping) and "model" in data and "layers" not in data:
            data = data["model"]
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (YAML-ready)."""
        out: dict[str, Any] = {}
        if self.name:
            out["name"] = self.name
        out.update(
            in_channels=self.in_channels,
            num_classes=self.num_classes,
            depth_multiple=self.depth_multiple,
            width_multiple=self.width_multiple,
            channel_divisor=self.channel_divisor,
        )
        if self.input_size is not None:
            out["input_size"] = list(self.input_size)
        out["layers"] = [[r, b, _plain(a)] for r, b, a in self.layers]
        return out

    def to_yaml(self) -> str:
        """YAML text with one flow-style line per layer."""
        d = self.to_dict()
        layers = d.pop("layers")
        head = yaml.safe_dump(d, sort_keys=False)
        lines = [head.rstrip("\n"), "layers:"]
        for r, b, a in layers:
            args = yaml.safe_dump(a, default_flow_style=True, sort_keys=False).strip()
            lines.append(f"  - [{r}, {b}, {args}]")
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_yaml())

    def resolved(self) -> list[tuple[int, str, dict[str, Any], int]]:
        """The concrete layer list after depth/width scaling: one ``(index, block, args,
        c1)`` per module, channel arguments final, ``c1`` the input channels."""
        out = []
        c = self.in_channels
        for i, (rep, block, args) in enumerate(self.layers):
            cls = BLOCKS[block]
            where = f"layers[{i}] ({block})"
            params = inspect.signature(cls.__init__).parameters
            allowed = [p for p in params if p not in ("self", "c1")]
            unknown = set(args) - set(allowed)
            if unknown:
                raise SpecError(
                    f"{where}: unknown argument(s) {sorted(unknown)}; allowed: {allowed}."
                )
            a = dict(args)
            if block == "Classify":
                a.setdefault("c2", self.num_classes)
                if "hidden" in a and a["hidden"]:
                    a["hidden"] = self._width(a["hidden"], where, "hidden")
            else:
                for key in CHANNEL_ARGS:
                    if key in a and a[key] is not None:
                        a[key] = self._width(a[key], where, key)
            n = max(round(rep * self.depth_multiple), 1) if rep > 1 else 1
            for j in range(n):
                aj = dict(a)
                if j > 0 and "s" in aj:
                    aj["s"] = 1
                out.append((i, block, aj, c))
                c = _out_channels(block, aj, c)
        return out

    def _width(self, v: Any, where: str, key: str) -> int:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise SpecError(f"{where}: {key} must be a number of channels, got {v!r}.")
        if v <= 0:
            raise SpecError(f"{where}: {key}={v} channels; it must be >= 1.")
        scaled = v * self.width_multiple
        if self.channel_divisor > 1:
            return make_divisible(scaled, self.channel_divisor)
        c = int(round(scaled))
        if c < 1:
            raise SpecError(f"{where}: {key}={v} * width {self.width_multiple} rounds to 0.")
        return c


def _out_channels(block: str, args: Mapping[str, Any], c1: int) -> int:
    if block in ("MaxPool", "AvgPool"):
        return c1
    if block == "DWConv":
        return int(args.get("c2") or c1)
    return int(args["c2"]) if "c2" in args else c1


def _plain(a: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in a.items():
        if hasattr(v, "item"):
            v = v.item()
        out[str(k)] = v
    return out


def _read(source: str | Path) -> str:
    if isinstance(source, Path):
        return source.read_text()
    s = str(source)
    if "\n" not in s and s.endswith((".yaml", ".yml")):
        return Path(s).read_text()
    return s


def load_spec(source: str | Path | Mapping[str, Any] | ModelSpec) -> ModelSpec:
    """A :class:`ModelSpec` from a spec, a mapping, YAML text or a YAML file."""
    if isinstance(source, ModelSpec):
        return source
    if isinstance(source, Mapping):
        return ModelSpec.from_dict(source)
    return ModelSpec.from_yaml(source)


class SpecNet(nn.Module):
    """The network built from a spec: ``self.layers`` (an ``nn.Sequential``) and the spec."""

    def __init__(self, layers: Sequence[nn.Module], spec: ModelSpec):
        super().__init__()
        self.layers = nn.Sequential(*layers)
        self.spec = copy.deepcopy(spec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def build_model(
    spec: ModelSpec | Mapping[str, Any] | str | Path,
    input_size: tuple[int, int] | None = None,
    check: bool = True,
) -> SpecNet:
    """Build the network; with ``check`` (and an input size from the argument or the spec)
    trace shapes on the meta device so that a shape problem names its entry."""
    spec = load_spec(spec)
    modules: list[nn.Module] = []
    entries = spec.resolved()
    for i, block, args, c1 in entries:
        where = f"layers[{i}] ({block})"
        try:
            m = BLOCKS[block](c1, **args)
        except (TypeError, ValueError) as e:
            raise SpecError(f"{where}: {e}") from None
        modules.append(m)
    model = SpecNet(modules, spec)
    last_block = entries[-1][1]
    if last_block != "Classify":
        raise SpecError(
            f"layers[{entries[-1][0]}] ({last_block}): the last entry must be Classify "
            "(global pooling + classifier head)."
        )
    if entries[-1][2]["c2"] != spec.num_classes:
        raise SpecError(
            f"layers[{entries[-1][0]}] (Classify): c2={entries[-1][2]['c2']} but num_classes="
            f"{spec.num_classes}."
        )
    size = input_size or spec.input_size
    if check and size is not None:
        check_shapes(model, entries, spec.in_channels, size)
    return model


def check_shapes(
    model: SpecNet,
    entries: Sequence[tuple[int, str, dict[str, Any], int]],
    c_in: int,
    size: tuple[int, int],
) -> list[tuple[int, ...]]:
    """Run a meta-device forward layer by layer; return the output shapes."""
    shapes = []
    x = torch.empty(1, c_in, int(size[0]), int(size[1]), device="meta")
    meta = copy.deepcopy(model).to("meta").eval()
    for (i, block, _a, _c1), layer in zip(entries, meta.layers):
        try:
            x = layer(x)
        except RuntimeError as e:
            msg = str(e).splitlines()[0]
            raise SpecError(
                f"layers[{i}] ({block}): does not fit input of shape {tuple(x.shape)}: {msg}"
            ) from None
        if x.dim() == 4 and min(x.shape[2:]) < 1:
            raise SpecError(f"layers[{i}] ({block}): spatial size shrank to {tuple(x.shape)}.")
        shapes.append(tuple(x.shape))
    return shapes
