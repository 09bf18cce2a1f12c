"""Zero-cost proxies: a score of an untrained network from one mini-batch, used to rank
architectures before the first epoch (Abdelfattah et al. 2021, "Zero-cost proxies for
lightweight NAS"; Mellor et al. 2021, "Neural architecture search without training").

Every proxy is a function ``(model, x, y) -> float`` (higher is meant to be better) that
works on a copy of ``model`` (the caller's weights, buffers and gradients are untouched)
and is deterministic: dropout is switched off and no random number is drawn.

* ``synflow``: ``sum |theta * dR/dtheta|`` with ``R`` the sum of the outputs of the network
  whose weights are replaced by their absolute values, on an all-ones input, in float64.
  Batch-norm would cancel it in training mode (an all-ones batch has zero variance, so every
  normalised activation is 0): the copy runs in evaluation mode with the running statistics
  reset to mean 0, variance 1, which makes each BN layer the positive affine map
  ``|gamma| x / sqrt(1 + eps) + |beta|`` (the data-free, layer-wise view synflow is defined
  on). All pre-activations are then positive, so relu/hardswish/silu/gelu do not zero them.
* ``naswot``: the log-determinant of the kernel ``K[i, j] = sum_layers (units where the binary
  codes of samples i and j agree)`` of the batch (Mellor et al.). The code of a unit is the
  sign of its *pre-activation* (the input of every relu / relu6 / hardswish / silu / gelu
  module, read by a forward pre-hook before an in-place activation overwrites it), so it is
  the same "which side of the kink" bit for hardswish and silu as for relu. ``K`` is divided
  by the number of units and gets a ``1e-6`` ridge, so the score is finite even for a
  degenerate network whose codes are all equal (it is then about ``N log 1e-6``).
  The sigmoid gates of squeeze-and-excitation are not coded (no kink).
* ``grad_norm``: the sum over parameter tensors of the L2 norm of the gradient of the
  cross-entropy loss on the batch (training mode: BN uses the batch statistics).
* ``snip``: ``sum |theta * dL/dtheta|`` over the weights of convolutions and linear layers
  (connection sensitivity, Lee et al. 2019).
* ``jacob_cov``: ``-sum(log(v + k) + 1 / (v + k))``, ``k = 1e-5``, of the eigenvalues ``v`` of
  the correlation matrix of the per-sample input gradients of the summed logits (Mellor et
  al., v1): networks whose input-output Jacobians are less correlated across samples score
  higher.

:func:`score` builds a model from a spec with a seed and scores it on a fixed, seeded batch
of the training split: what a search trial does in its rung before the first epoch.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import slimtune as st
from slimtune.nas.data import Dataset
from slimtune.nas.spec import ModelSpec, build_model
from slimtune.nas.train import resize_images, set_seed

__all__ = [
    "PROXIES",
    "ProxyRung",
    "ProxyFn",
    "grad_norm",
    "jacob_cov",
    "naswot",
    "proxy_batch",
    "score",
    "score_model",
    "snip",
    "synflow",
]

ProxyFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], float]
"""``proxy(model, x, y) -> float``: the score of an untrained ``model`` on one batch."""

# activation modules whose inputs NASWOT codes (the kinks); sigmoid gates are left out
_CODED = (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU, nn.GELU, nn.LeakyReLU, nn.ELU)
_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_DROPOUT = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)
_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def _prepared(model: nn.Module, train: bool, dtype: torch.dtype | None = None) -> nn.Module:
    """A copy of ``model`` in train (BN batch statistics) or eval mode, dropout off."""
    m = copy.deepcopy(model)
    if dtype is not None:
        m = m.to(dtype)
    m.train(train)
    for mod in m.modules():
        if isinstance(mod, _DROPOUT):
            mod.eval()
    m.zero_grad(set_to_none=True)
    return m


def synflow(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """Synaptic flow of ``model`` (data-free: only the input shape of ``x`` is used)."""
    m = _prepared(model, train=False, dtype=torch.float64)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, _BN) and mod.track_running_stats:
                mod.running_mean.zero_()  # type: ignore[union-attr]
                mod.running_var.fill_(1.0)  # type: ignore[union-attr]
        for p in m.parameters():
            p.abs_()
    ones = torch.ones((1, *x.shape[1:]), dtype=torch.float64, device=x.device)
    m(ones).sum().backward()
    with torch.no_grad():
        total = sum(float((p * p.grad).abs().sum()) for p in m.parameters() if p.grad is not None)
    return float(total)


def naswot(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """Log-determinant of the activation-pattern kernel of the batch ``x`` (see the module
    docstring: codes are the signs of the pre-activations)."""
    m = _prepared(model, train=True)
    codes: list[torch.Tensor] = []

    def hook(mod: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        codes.append((inputs[0].detach() > 0).flatten(1))

    coded = [mod for mod in m.modules() if isinstance(mod, _CODED)]
    handles = [mod.register_forward_pre_hook(hook) for mod in coded]
    try:
        with torch.no_grad():
            m(x)
    finally:
        for h in handles:
            h.remove()
    n = x.shape[0]
    if not codes:
        return float(n * math.log(1e-6))
    c = torch.cat(codes, dim=1).to(torch.float64)  # (N, units)
    units = c.shape[1]
    k = c @ c.T + (1.0 - c) @ (1.0 - c).T  # agreements = units - Hamming distance
    k = k / units + 1e-6 * torch.eye(n, dtype=torch.float64, device=k.device)
    sign, logdet = torch.linalg.slogdet(k)
    return float(logdet) if float(sign) > 0 else float(n * math.log(1e-6))


def grad_norm(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Sum over parameter tensors of the L2 norm of the loss gradient on the batch."""
    m = _prepared(model, train=True)
    F.cross_entropy(m(x), y).backward()
    total = 0.0
    for p in m.parameters():
        if p.grad is not None:
            total += float(p.grad.norm())
    return total


def snip(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Connection sensitivity ``sum |w * dL/dw|`` over conv and linear weights."""
    m = _prepared(model, train=True)
    F.cross_entropy(m(x), y).backward()
    total = 0.0
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, _WEIGHTED) and mod.weight.grad is not None:
                total += float((mod.weight * mod.weight.grad).abs().sum())
    return total


def jacob_cov(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """Score of the correlation of per-sample input gradients (higher: less correlated)."""
    m = _prepared(model, train=True)
    xi = x.detach().clone().requires_grad_(True)
    m(xi).sum().backward()
    assert xi.grad is not None
    j = xi.grad.flatten(1).to(torch.float64)  # (N, D)
    j = j - j.mean(1, keepdim=True)
    norms = j.norm(dim=1, keepdim=True)
    j = j / torch.where(norms > 0, norms, torch.ones_like(norms))
    corr = j @ j.T  # correlation of the samples' Jacobians
    v = torch.linalg.eigvalsh(corr).clamp_min(0.0)
    kk = 1e-5
    return float(-(torch.log(v + kk) + 1.0 / (v + kk)).sum())


PROXIES: dict[str, ProxyFn] = {
    "synflow": synflow,
    "naswot": naswot,
    "grad_norm": grad_norm,
    "snip": snip,
    "jacob_cov": jacob_cov,
}
"""The proxies by name (``proxy.name`` of a search config)."""


def proxy_batch(
    data: Dataset, batch_size: int = 64, seed: int = 0, resolution: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed batch of ``batch_size`` training samples drawn with ``seed`` (the same batch
    for every trial of a search, so that scores compare), resized to ``resolution``."""
    n = len(data.y_train)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n, size=min(batch_size, n), replace=False))
    x = resize_images(torch.from_numpy(np.ascontiguousarray(data.x_train[idx])), resolution)
    y = torch.from_numpy(np.asarray(data.y_train[idx], dtype=np.int64))
    return x, y


def _proxy(name: str) -> ProxyFn:
    if name not in PROXIES:
        raise ValueError(f"proxy {name!r} is unknown; use one of {sorted(PROXIES)}.")
    return PROXIES[name]


def score_model(name: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """The proxy ``name`` of ``model`` on the batch ``(x, y)`` (one torch thread)."""
    fn = _proxy(name)
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return float(fn(model, x, y))
    finally:
        torch.set_num_threads(old)


def score(
    name: str,
    spec: ModelSpec | dict[str, Any],
    data: Dataset,
    seed: int = 0,
    batch_size: int = 64,
    resolution: int | None = None,
) -> float:
    """The proxy ``name`` of the model of ``spec`` initialised with ``seed``, on the batch
    :func:`proxy_batch` ``(data, batch_size, seed)``."""
    fn = _proxy(name)
    set_seed(seed)
    model = build_model(spec)
    x, y = proxy_batch(data, batch_size, seed, resolution)
    return score_model(fn.__name__, model, x, y)


class ProxyRung:
    """The rung before epoch 1 of a search (``proxy:`` of a config, a
    :class:`~slimtune.nas.config.ProxySection`): :meth:`check` scores the untrained model of a
    trial, records ``proxy`` and ``proxy_score`` as user attributes, and raises
    :class:`slimtune.TrialPruned` (reason in the user attribute ``proxy_pruned``) when, after
    ``warmup`` scored trials, the score is below the ``1 - keep`` quantile of the scores of the
    ``neighbors`` trials nearest in log-MACs. Only trials scored by the same proxy and batch
    size count, so a study resumed with another proxy does not mix scales."""

    def __init__(self, section: Any, data: Dataset, seed: int = 0):
        self.section = section
        self.data = data
        self.seed = seed
        self.tag = f"{section.name}/{section.batch_size}"
        self._batches: dict[int | None, tuple[torch.Tensor, torch.Tensor]] = {}

    def threshold(self, trial: Any, macs: int) -> tuple[float, int] | None:
        """(the score a trial of ``macs`` MACs must reach, how many trials set it), or None
        during the warm-up."""
        ref = [
            (float(t.user_attrs["macs"]), float(t.user_attrs["proxy_score"]))
            for t in trial.study.get_trials(deepcopy=False)
            if t.number != trial.number
            and t.user_attrs.get("proxy") == self.tag
            and "proxy_score" in t.user_attrs
            and "macs" in t.user_attrs
        ]
        if len(ref) < self.section.warmup:
            return None
        arr = np.asarray(ref)
        dist = np.abs(np.log10(np.maximum(arr[:, 0], 1.0)) - math.log10(max(macs, 1)))
        near = np.argsort(dist, kind="stable")[: self.section.neighbors]
        return float(np.quantile(arr[near, 1], 1.0 - self.section.keep)), len(near)

    def check(self, trial: Any, model: nn.Module, macs: int, resolution: int | None) -> float:
        """Score ``model`` for ``trial``; prune the trial (raise) when it is below the rung."""
        if resolution not in self._batches:
            self._batches[resolution] = proxy_batch(
                self.data, self.section.batch_size, self.seed, resolution
            )
        x, y = self._batches[resolution]
        s = score_model(self.section.name, model, x, y)
        if not math.isfinite(s):
            s = -math.inf if math.isnan(s) else s
        bar = self.threshold(trial, macs)
        trial.set_user_attr("proxy", self.tag)
        trial.set_user_attr("proxy_score", s if math.isfinite(s) else -1e300)
        if bar is not None and s < bar[0]:
            why = (
                f"proxy {self.section.name} {s:.4g} < {bar[0]:.4g}, the "
                f"{1 - self.section.keep:.0%} quantile of the {bar[1]} trials nearest in MACs: "
                "not trained"
            )
            trial.set_user_attr("proxy_pruned", why)
            raise st.TrialPruned(why)
        return s
