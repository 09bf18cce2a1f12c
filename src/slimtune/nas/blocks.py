"""Building blocks for small convolutional networks (PyTorch).

Every block takes the input channels ``c1`` first and its output channels ``c2`` (where it
has a choice), exposes ``self.c2`` and keeps the spatial size for ``s=1`` ("same"
padding), dividing it by ``s`` (rounded up) otherwise. Arguments use short names as in
YOLO-style specs: ``k`` kernel, ``s`` stride, ``t`` expansion ratio, ``exp`` expanded
channels, ``se`` squeeze-and-excitation, ``act`` activation name.

Blocks: :class:`Conv` (+BN+act), :class:`DWConv`, :class:`DWSConv` (depthwise-separable),
:class:`Bottleneck` (ResNet), :class:`InvertedResidual` (MobileNetV2),
:class:`InvertedResidualV3` (MobileNetV3: kernel, expansion, SE, hardswish),
:class:`MBConv` (EfficientNet), :class:`Fire` (SqueezeNet), :class:`Ghost` (GhostNet
module), :class:`MaxPool`, :class:`AvgPool`, :class:`Classify` (global pool + head).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

__all__ = [
    "ACTIVATIONS",
    "BLOCKS",
    "AvgPool",
    "Bottleneck",
    "Classify",
    "Conv",
    "DWConv",
    "DWSConv",
    "Fire",
    "Ghost",
    "InvertedResidual",
    "InvertedResidualV3",
    "MBConv",
    "MaxPool",
    "SqueezeExcite",
    "make_activation",
    "make_divisible",
]

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": lambda: nn.ReLU(inplace=True),
    "relu6": lambda: nn.ReLU6(inplace=True),
    "hardswish": lambda: nn.Hardswish(inplace=True),
    "silu": lambda: nn.SiLU(inplace=True),
    "gelu": lambda: nn.GELU(),
    "sigmoid": lambda: nn.Sigmoid(),
    "hardsigmoid": lambda: nn.Hardsigmoid(inplace=True),
    "none": lambda: nn.Identity(),
}


def make_activation(name: str | None) -> nn.Module:
    """An activation module by name (``relu``, ``relu6``, ``hardswish``, ``silu``, ``gelu``,
    ``sigmoid``, ``hardsigmoid`` or ``none``)."""
    key = "none" if name is None or name is False else str(name).lower()
    if key not in ACTIVATIONS:
        raise ValueError(f"act={name!r} is not an activation; use one of {sorted(ACTIVATIONS)}.")
    return ACTIVATIONS[key]()


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``v`` to the nearest multiple of ``divisor`` (at least ``min_value``, default
    ``divisor``), never going more than 10% below ``v`` (the MobileNet rule)."""
    if divisor <= 1:
        return max(int(round(v)), 1 if min_value is None else min_value)
    min_value = divisor if min_value is None else min_value
    new = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new < 0.9 * v:
        new += divisor
    return new


def _check_pos(name: str, value: int, block: str) -> None:
    if not isinstance(value, (int,)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{block}: {name} must be a positive int, got {name}={value!r}.")


class Conv(nn.Module):
    """``k x k`` convolution (stride ``s``, groups ``g``) + BatchNorm + activation.

    Params: ``c2 * c1/g * k * k`` weights (+ ``c2`` bias when ``bn=False``) + ``2 * c2`` BN.
    """

    def __init__(
        self,
        c1: int,
        c2: int,
        k: int = 1,
        s: int = 1,
        g: int = 1,
        act: str | None = "relu",
        bn: bool = True,
    ):
        super().__init__()
        for n, v in (("c1", c1), ("c2", c2), ("k", k), ("s", s), ("g", g)):
            _check_pos(n, v, "Conv")
        if c1 % g or c2 % g:
            raise ValueError(f"Conv: groups g={g} must divide c1={c1} and c2={c2}.")
        self.c2 = c2
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, groups=g, bias=not bn)
        self.bn = nn.BatchNorm2d(c2) if bn else nn.Identity()
        self.act = make_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class DWConv(Conv):
    """Depthwise ``k x k`` convolution + BN + act; ``c2`` must be a multiple of ``c1``
    (the depth multiplier), default ``c2 = c1``."""

    def __init__(
        self, c1: int, c2: int | None = None, k: int = 3, s: int = 1, act: str | None = "relu"
    ):
        c2 = c1 if c2 is None else c2
        if c2 % c1:
            raise ValueError(
                f"DWConv: output channels c2={c2} must be a multiple of input channels c1={c1}."
            )
        super().__init__(c1, c2, k, s, g=c1, act=act)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: global pool, 1x1 reduce (+act), 1x1 expand, gate.

    Params: ``c*sq + sq + sq*c + c`` (two 1x1 convs with bias).
    """

    def __init__(self, c: int, sq: int, act: str = "relu", gate: str = "hardsigmoid"):
        super().__init__()
        _check_pos("squeeze channels", sq, "SqueezeExcite")
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, sq, 1)
        self.act = make_activation(act)
        self.fc2 = nn.Conv2d(sq, c, 1)
        self.gate = make_activation(gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))
        return x * w


class DWSConv(nn.Module):
    """Depthwise-separable convolution (MobileNetV1): depthwise ``k x k`` (stride ``s``)
    + BN + act, optional SE, then pointwise ``1 x 1`` to ``c2`` + BN + act."""

    def __init__(
        self,
        c1: int,
        c2: int,
        k: int = 3,
        s: int = 1,
        act: str | None = "relu",
        se: bool = False,
    ):
        super().__init__()
        self.c2 = c2
        self.dw = DWConv(c1, c1, k, s, act=act)
        self.se = SqueezeExcite(c1, make_divisible(c1 / 4, 8)) if se else nn.Identity()
        self.pw = Conv(c1, c2, 1, 1, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.se(self.dw(x)))


class Bottleneck(nn.Module):
    """ResNet bottleneck: 1x1 to ``c_ = max(1, int(c2 * e))``, ``k x k`` stride ``s``, 1x1 to
    ``c2`` (no act), plus a shortcut (identity, or 1x1 conv + BN when the shape changes),
    then the activation."""

    def __init__(
        self, c1: int, c2: int, k: int = 3, s: int = 1, e: float = 0.25, act: str | None = "relu"
    ):
        super().__init__()
        if not 0 < e <= 4:
            raise ValueError(f"Bottleneck: e must be in (0, 4], got e={e!r}.")
        c_ = max(1, int(c2 * e))
        self.c2 = c2
        self.cv1 = Conv(c1, c_, 1, 1, act=act)
        self.cv2 = Conv(c_, c_, k, s, act=act)
        self.cv3 = Conv(c_, c2, 1, 1, act=None)
        self.short = nn.Identity() if s == 1 and c1 == c2 else Conv(c1, c2, 1, s, act=None)
        self.act = make_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.cv3(self.cv2(self.cv1(x))) + self.short(x))


class InvertedResidual(nn.Module):
    """MobileNetV2 inverted residual: 1x1 expand to ``hid = round(c1 * t)`` (skipped when
    ``t == 1``), depthwise ``k x k`` stride ``s``, 1x1 linear projection to ``c2``;
    residual connection when ``s == 1`` and ``c1 == c2``."""

    def __init__(
        self, c1: int, c2: int, s: int = 1, t: float = 6, k: int = 3, act: str | None = "relu6"
    ):
        super().__init__()
        if s not in (1, 2):
            raise ValueError(f"InvertedResidual: s must be 1 or 2, got s={s!r}.")
        if t < 1:
            raise ValueError(f"InvertedResidual: expansion t must be >= 1, got t={t!r}.")
        hid = int(round(c1 * t))
        self.c2 = c2
        self.use_res = s == 1 and c1 == c2
        layers: list[nn.Module] = []
        if t != 1:
            layers.append(Conv(c1, hid, 1, 1, act=act))
        layers += [DWConv(hid, hid, k, s, act=act), Conv(hid, c2, 1, 1, act=None)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.use_res else y


class InvertedResidualV3(nn.Module):
    """MobileNetV3 block: 1x1 expand to ``exp`` channels (skipped when ``exp == c1``; give
    ``exp`` or the ratio ``t``), depthwise ``k x k`` stride ``s``, optional SE (squeeze to
    ``make_divisible(exp / 4)``, ReLU, hard-sigmoid), 1x1 projection; residual when
    ``s == 1`` and ``c1 == c2``."""

    def __init__(
        self,
        c1: int,
        c2: int,
        k: int = 3,
        s: int = 1,
        exp: int | None = None,
        t: float | None = None,
        se: bool = False,
        act: str | None = "hardswish",
    ):
        super().__init__()
        if exp is None:
            exp = make_divisible(c1 * (t if t is not None else 4), 8)
        _check_pos("exp", exp, "InvertedResidualV3")
        self.c2 = c2
        self.use_res = s == 1 and c1 == c2
        layers: list[nn.Module] = []
        if exp != c1:
            layers.append(Conv(c1, exp, 1, 1, act=act))
        layers.append(DWConv(exp, exp, k, s, act=act))
        if se:
            layers.append(SqueezeExcite(exp, make_divisible(exp // 4, 8)))
        layers.append(Conv(exp, c2, 1, 1, act=None))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.use_res else y


class MBConv(nn.Module):
    """EfficientNet MBConv: 1x1 expand by ``t`` (skipped when ``t == 1``), depthwise
    ``k x k`` stride ``s``, SE squeezing to ``max(1, int(c1 * se))`` (SiLU, sigmoid; ``se=0``
    disables it), 1x1 projection; residual when ``s == 1`` and ``c1 == c2``."""

    def __init__(
        self,
        c1: int,
        c2: int,
        k: int = 3,
        s: int = 1,
        t: float = 6,
        se: float = 0.25,
        act: str | None = "silu",
    ):
        super().__init__()
        if t < 1:
            raise ValueError(f"MBConv: expansion t must be >= 1, got t={t!r}.")
        se = 0.25 if se is True else float(se)
        hid = int(round(c1 * t))
        self.c2 = c2
        self.use_res = s == 1 and c1 == c2
        layers: list[nn.Module] = []
        if t != 1:
            layers.append(Conv(c1, hid, 1, 1, act=act))
        layers.append(DWConv(hid, hid, k, s, act=act))
        if se > 0:
            layers.append(SqueezeExcite(hid, max(1, int(c1 * se)), act="silu", gate="sigmoid"))
        layers.append(Conv(hid, c2, 1, 1, act=None))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.use_res else y


class Fire(nn.Module):
    """SqueezeNet Fire module: 1x1 squeeze to ``sq`` (default ``max(1, c2 // 8)``), then
    1x1 and ``k x k`` expands of ``c2 / 2`` channels each, concatenated; stride ``s`` is
    applied by the squeeze conv. ``c2`` must be even."""

    def __init__(
        self,
        c1: int,
        c2: int,
        sq: int | None = None,
        k: int = 3,
        s: int = 1,
        act: str | None = "relu",
    ):
        super().__init__()
        if c2 % 2:
            raise ValueError(f"Fire: c2 must be even (two halves are concatenated), got {c2}.")
        sq = max(1, c2 // 8) if sq is None else sq
        self.c2 = c2
        self.squeeze = Conv(c1, sq, 1, s, act=act)
        self.e1 = Conv(sq, c2 // 2, 1, 1, act=act)
        self.e3 = Conv(sq, c2 // 2, k, 1, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.squeeze(x)
        return torch.cat([self.e1(z), self.e3(z)], 1)


class Ghost(nn.Module):
    """GhostNet module: a primary ``k x k`` conv (stride ``s``) to ``m = ceil(c2 / ratio)``
    channels and a cheap depthwise ``dk x dk`` conv making ``m * (ratio - 1)`` more;
    concatenated and cut to ``c2``. A residual is added when ``s == 1`` and ``c1 == c2``
    and ``res=True``."""

    def __init__(
        self,
        c1: int,
        c2: int,
        k: int = 1,
        s: int = 1,
        ratio: int = 2,
        dk: int = 3,
        act: str | None = "relu",
        res: bool = False,
    ):
        super().__init__()
        if not isinstance(ratio, int) or ratio < 2:
            raise ValueError(f"Ghost: ratio must be an int >= 2, got ratio={ratio!r}.")
        m = math.ceil(c2 / ratio)
        self.c2 = c2
        self.primary = Conv(c1, m, k, s, act=act)
        self.cheap = Conv(m, m * (ratio - 1), dk, 1, g=m, act=act)
        self.use_res = bool(res) and s == 1 and c1 == c2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.primary(x)
        y = torch.cat([y, self.cheap(y)], 1)[:, : self.c2]
        return x + y if self.use_res else y


class _Pool(nn.Module):
    """``k x k`` pooling with stride ``s`` (default ``k``); channels unchanged."""

    pool_cls: type[nn.Module]

    def __init__(self, c1: int, k: int = 2, s: int | None = None):
        super().__init__()
        self.c2 = c1
        self.pool = self.pool_cls(k, s or k, ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)


class MaxPool(_Pool):
    """``k x k`` max pooling with stride ``s`` (default ``k``); channels unchanged."""

    pool_cls = nn.MaxPool2d


class AvgPool(_Pool):
    """``k x k`` average pooling with stride ``s`` (default ``k``); channels unchanged."""

    pool_cls = nn.AvgPool2d


class Classify(nn.Module):
    """Global average pooling + classifier: optional hidden ``Linear(c1, hidden)`` + act +
    dropout, then ``Linear(., c2)`` to the class logits."""

    def __init__(
        self, c1: int, c2: int, hidden: int = 0, act: str | None = "relu", dropout: float = 0.0
    ):
        super().__init__()
        if not 0 <= dropout < 1:
            raise ValueError(f"Classify: dropout must be in [0, 1), got dropout={dropout!r}.")
        self.c2 = c2
        self.pool = nn.AdaptiveAvgPool2d(1)
        layers: list[nn.Module] = []
        c = c1
        if hidden:
            layers += [nn.Linear(c1, hidden), make_activation(act)]
            c = hidden
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(c, c2))
        self.head = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.pool(x), 1))


BLOCKS: dict[str, type[nn.Module]] = {
    "Conv": Conv,
    "DWConv": DWConv,
    "DWSConv": DWSConv,
    "Bottleneck": Bottleneck,
    "InvertedResidual": InvertedResidual,
    "InvertedResidualV3": InvertedResidualV3,
    "MBConv": MBConv,
    "Fire": Fire,
    "Ghost": Ghost,
    "MaxPool": MaxPool,
    "AvgPool": AvgPool,
    "Classify": Classify,
}
"""Block registry used by model specs (names are case-sensitive, aliases in ``spec``)."""

# Arguments holding channel counts: scaled by ``width_multiple`` and rounded in specs.
CHANNEL_ARGS = ("c2", "exp", "sq", "hidden")
