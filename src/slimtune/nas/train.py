"""Fidelity-aware training: epochs, a stratified subset of the training data and the
input resolution are the budgets; validation accuracy and macro-F1 are computed after
every epoch and handed to a callback (which reports them to the study's pruner).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from slimtune.fidelity import stratified_subset
from slimtune.nas.data import Dataset

__all__ = [
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "macro_f1",
    "resize_images",
    "set_seed",
    "train_model",
]

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")


@dataclass
class TrainConfig:
    """Training recipe and fidelity. ``augment`` in ``[0, 1]`` scales random shifts (up to
    ``augment * H / 8`` pixels) and Gaussian noise (std ``0.1 * augment``); ``subset`` is the
    stratified fraction of the training set; ``resolution`` resizes inputs (``None`` keeps
    them); ``device`` ``"auto"`` picks CUDA when present, else CPU."""

    epochs: int = 10
    optimizer: str = "adam"
    lr: float = 3e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    batch_size: int = 64
    label_smoothing: float = 0.0
    augment: float = 0.0
    subset: float = 1.0
    resolution: int | None = None
    seed: int = 0
    device: str = "auto"
    threads: int | None = None

    def __post_init__(self) -> None:
        checks = [
            ("epochs", isinstance(self.epochs, int) and self.epochs >= 1, "an int >= 1"),
            ("optimizer", self.optimizer in OPTIMIZERS, f"one of {list(OPTIMIZERS)}"),
            ("lr", self.lr > 0, "> 0"),
            ("weight_decay", self.weight_decay >= 0, ">= 0"),
            ("momentum", 0 <= self.momentum < 1, "in [0, 1)"),
            ("batch_size", int(self.batch_size) >= 1, "an int >= 1"),
            ("label_smoothing", 0 <= self.label_smoothing < 1, "in [0, 1)"),
            ("augment", 0 <= self.augment <= 1, "in [0, 1]"),
            ("subset", 0 < self.subset <= 1, "in (0, 1]"),
            ("resolution", self.resolution is None or int(self.resolution) >= 1, ">= 1 or null"),
            ("device", _valid_device(self.device), "auto, cpu, cuda, cuda:N or mps"),
        ]
        for name, ok, what in checks:
            if not ok:
                raise ValueError(f"train.{name}={getattr(self, name)!r}: must be {what}.")
        self.batch_size = int(self.batch_size)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"train: unknown key(s) {sorted(unknown)}; allowed: {sorted(names)}.")
        return cls(**dict(d))

    def replace(self, **kw: Any) -> TrainConfig:
        return TrainConfig(**{**asdict(self), **kw})


@dataclass
class TrainResult:
    """Final validation metrics and the per-epoch history."""

    accuracy: float
    f1: float
    epochs: int
    history: list[dict[str, float]] = field(default_factory=list)
    device: str = "cpu"  # where it was trained (``cuda`` with ``device: auto`` on a GPU)


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _valid_device(device: Any) -> bool:
    if not isinstance(device, str):
        return False
    kind, _, index = device.partition(":")
    return kind in ("auto", "cpu", "cuda", "mps") and (index == "" or index.isdigit())


def resolve_device(device: str) -> torch.device:
    """The torch device of ``train.device``: ``auto`` is CUDA when present, else the CPU;
    asking for ``cuda`` (or ``mps``) where there is none is a one-line ValueError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"train.device={device!r} but CUDA is not available (torch {torch.__version__}); "
            "use device: auto (CUDA when present) or cpu."
        )
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("train.device='mps' but MPS is not available; use device: auto or cpu.")
    return torch.device(device)


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
    """Macro-averaged F1 (classes absent from both truth and prediction are skipped)."""
    cm = np.bincount(
        num_classes * np.asarray(y_true) + np.asarray(y_pred), minlength=num_classes**2
    ).reshape(num_classes, num_classes)
    tp = np.diag(cm).astype(float)
    denom = cm.sum(0) + cm.sum(1)
    present = denom > 0
    f1 = np.where(present, 2 * tp / np.maximum(denom, 1), 0.0)
    return float(f1[present].mean()) if present.any() else 0.0


def resize_images(x: torch.Tensor, resolution: int | None) -> torch.Tensor:
    """Bilinear resize of ``(N, C, H, W)`` to ``resolution`` (the width only for 1-row
    signals such as MNIST-1D)."""
    if resolution is None:
        return x
    h, w = x.shape[2], x.shape[3]
    size = (1, int(resolution)) if h == 1 else (int(resolution), int(resolution))
    if (h, w) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _augment(x: torch.Tensor, strength: float, gen: torch.Generator) -> torch.Tensor:
    """Random integer shifts (zero padded) and Gaussian noise, one draw per sample, drawn
    from ``gen`` on its own device (the CPU for CPU training; on CUDA a CUDA generator, so
    no batch of noise is made on the host and copied every step)."""
    if strength <= 0:
        return x
    b, c, h, w = x.shape
    mh = int(round(strength * h / 8)) if h > 1 else 0
    mw = int(round(strength * w / 8))
    if mh or mw:
        xp = F.pad(x, (mw, mw, mh, mh))
        dy = torch.randint(0, 2 * mh + 1, (b,), generator=gen, device=gen.device).to(x.device)
        dx = torch.randint(0, 2 * mw + 1, (b,), generator=gen, device=gen.device).to(x.device)
        rows = dy[:, None] + torch.arange(h, device=x.device)[None, :]  # (b, h)
        cols = dx[:, None] + torch.arange(w, device=x.device)[None, :]  # (b, w)
        bi = torch.arange(b, device=x.device)[:, None, None]
        x = xp.permute(0, 2, 3, 1)[bi, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    noise = torch.randn(x.shape, generator=gen, device=gen.device).to(x.device)
    return x + 0.1 * strength * noise


def _make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = model.parameters()
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=cfg.lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
            nesterov=cfg.momentum > 0,
        )
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.RMSprop(
        params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
    )


@torch.inference_mode()
def evaluate(
    model: nn.Module, x: torch.Tensor, y: np.ndarray, num_classes: int, batch: int = 1024
) -> tuple[float, float]:
    """(accuracy, macro-F1) of ``model`` on ``x``, ``y`` (the predictions stay on the
    model's device until one copy to the host at the end)."""
    model.eval()
    preds = [model(x[i : i + batch]).argmax(1) for i in range(0, len(x), batch)]
    pred = torch.cat(preds).cpu().numpy()
    y = np.asarray(y)
    return float((pred == y).mean()), macro_f1(y, pred, num_classes)


def train_model(
    model: nn.Module,
    data: Dataset,
    cfg: TrainConfig,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    eval_on: str = "val",
) -> TrainResult:
    """Train ``model`` on ``data`` with ``cfg``; after each epoch evaluate on the validation
    (or ``eval_on="test"``) split and call ``on_epoch(epoch, metrics)`` (1-based epoch; it
    may raise ``TrialPruned`` to stop). Deterministic for a given ``cfg.seed`` on CPU."""
    old_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    try:
        return _train(model, data, cfg, on_epoch, eval_on)
    finally:
        torch.set_num_threads(old_threads)


def _train(
    model: nn.Module,
    data: Dataset,
    cfg: TrainConfig,
    on_epoch: Callable[[int, dict[str, float]], None] | None,
    eval_on: str,
) -> TrainResult:
    device = resolve_device(cfg.device)
    idx = stratified_subset(data.y_train, cfg.subset, seed=cfg.seed)
    # the data go to the device once per training run, not per batch
    xtr = resize_images(torch.from_numpy(data.x_train[idx]), cfg.resolution).to(device)
    ytr = torch.from_numpy(data.y_train[idx]).to(device)
    if eval_on == "test":
        if data.x_test is None:
            raise ValueError("eval_on='test' but the dataset has no test split.")
        xe_np, ye = data.x_test, data.y_test
    else:
        xe_np, ye = data.x_val, data.y_val
    xev = resize_images(torch.from_numpy(xe_np), cfg.resolution).to(device)
    model.to(device)
    opt = _make_optimizer(model, cfg)
    n = len(ytr)
    steps_per_epoch = max(1, math.ceil(n / cfg.batch_size))
    total = cfg.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
    )
    gen = torch.Generator().manual_seed(int(cfg.seed))  # batch order: the same on any device
    # augmentation draws on the training device (the CPU generator itself on the CPU)
    aug_gen = gen if device.type == "cpu" else torch.Generator(device).manual_seed(int(cfg.seed))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    history: list[dict[str, float]] = []
    acc = f1 = 0.0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=gen).to(device)
        # summed on the device in float64 (as exact as a Python float): no host sync per step
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        for i in range(0, n, cfg.batch_size):
            bi = perm[i : i + cfg.batch_size]
            if len(bi) < 2 and n >= 2:  # BatchNorm needs 2+ samples
                continue
            xb = _augment(xtr[bi], cfg.augment, aug_gen)
            loss = loss_fn(model(xb), ytr[bi])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.detach().double() * len(bi)
        total_loss = float(loss_sum)
        acc, f1 = evaluate(model, xev, ye, data.num_classes)
        metrics = {"epoch": epoch, "accuracy": acc, "f1": f1, "loss": total_loss / n}
        history.append(metrics)
        if not math.isfinite(total_loss):
            raise FloatingPointError(f"training diverged at epoch {epoch} (loss {total_loss}).")
        if on_epoch is not None:
            on_epoch(epoch, metrics)
    return TrainResult(acc, f1, len(history), history, device=str(device))
