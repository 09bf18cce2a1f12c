"""The architecture + training search space, declared in the ``model:`` and ``train:``
sections of a search config, turned into a :class:`slimtune.Space` with conditions.

Every option is written the same way: a scalar is fixed, a list is a categorical
choice, a mapping is a full parameter (``{type: float, low: 1e-3, high: 0.1, log: true,
when: {optimizer: sgd}}``, see :class:`slimtune.Space`). Example::

    model:
      channel_divisor: 4
      width_multiple: [0.5, 0.75, 1.0]
      resolution: [6, 8]                  # input resolution (a fidelity as well)
      stem: {c2: [8, 16], k: 3, s: 1, act: relu}
      stages:
        - block: [InvertedResidual, DWSConv, MBConv]
          depth: {type: int, low: 1, high: 3}
          c2: [8, 16, 24]
          k: [3, 5]
          t: [2, 4, 6]                    # only when the block has an expansion ratio
          se: [false, true]               # only when the block has SE
          act: [relu, hardswish]
          s: 2
      head: {c2: [0, 64]}                 # optional 1x1 conv before the classifier (0 = none)
    train:
      optimizer: [adam, sgd]
      lr: {type: float, low: 1.0e-3, high: 3.0e-2, log: true}
      momentum: {type: float, low: 0.8, high: 0.95, when: {optimizer: sgd}}

Stage options are named ``s<i>_<key>`` in the study (``s0_block``, ``s1_c2`` ...); the stem
``stem_<key>``, the head ``head_<key>``, the rest by their own key. ``t`` and ``se`` of a
stage are conditional on its block (only sampled where the block uses them).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import slimtune as st
from slimtune.nas.spec import ModelSpec, SpecError, resolve_block
from slimtune.nas.train import TrainConfig

__all__ = ["ArchSpace", "STAGE_KEYS"]

# Stage keys each block understands (besides block and depth).
_BLOCK_KEYS: dict[str, set[str]] = {
    "Conv": {"c2", "k", "s", "act"},
    "DWSConv": {"c2", "k", "s", "act", "se"},
    "Bottleneck": {"c2", "k", "s", "act"},
    "InvertedResidual": {"c2", "k", "s", "act", "t"},
    "InvertedResidualV3": {"c2", "k", "s", "act", "t", "se"},
    "MBConv": {"c2", "k", "s", "act", "t", "se"},
    "Fire": {"c2", "k", "s", "act"},
    "Ghost": {"c2", "k", "s", "act"},
}
STAGE_KEYS = ("block", "depth", "c2", "k", "s", "t", "se", "act")
_STEM_KEYS = ("c2", "k", "s", "act")
_HEAD_KEYS = ("c2", "act", "dropout", "hidden")
_MODEL_KEYS = {
    "stages",
    "stem",
    "head",
    "width_multiple",
    "depth_multiple",
    "resolution",
    "channel_divisor",
}
_TRAIN_KEYS = {
    "optimizer",
    "lr",
    "weight_decay",
    "momentum",
    "batch_size",
    "label_smoothing",
    "augment",
}
_FIXED_ONLY_TRAIN = {"epochs", "subset", "device", "threads", "seed"}


class ArchSpace:
    """Turns the ``model`` / ``train`` config sections into a :class:`slimtune.Space` and
    sampled values back into a :class:`ModelSpec` and a :class:`TrainConfig`."""

    def __init__(
        self,
        model: Mapping[str, Any],
        train: Mapping[str, Any] | None = None,
        in_channels: int = 1,
        num_classes: int = 10,
        input_size: tuple[int, int] = (8, 8),
    ):
        if not isinstance(model, Mapping):
            raise ValueError("config key `model` must be a mapping with `stages`.")
        unknown = set(model) - _MODEL_KEYS
        if unknown:
            raise ValueError(
                f"model: unknown key(s) {sorted(unknown)}; allowed: {sorted(_MODEL_KEYS)}."
            )
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.input_size = input_size
        self.channel_divisor = int(model.get("channel_divisor", 8))
        self.fixed: dict[str, Any] = {}
        decl: dict[str, Any] = {}
        stages = model.get("stages")
        if not isinstance(stages, list) or not stages:
            raise ValueError("model.stages must be a non-empty list of stage mappings.")
        self.n_stages = len(stages)
        self.stage_blocks: list[list[str]] = []
        for i, stage in enumerate(stages):
            self._add_stage(i, stage, decl)
        for section, keys, defaults in (
            ("stem", _STEM_KEYS, {"c2": 16, "k": 3, "s": 1, "act": "relu"}),
            ("head", _HEAD_KEYS, {"c2": 0, "act": "relu", "dropout": 0.0, "hidden": 0}),
        ):
            sec = _checked_mapping(model.get(section) or {}, f"model.{section}", keys)
            for k in keys:
                self._option(
                    f"{section}_{k}", sec.get(k, defaults[k]), decl, f"model.{section}.{k}"
                )
        for k, default in (("width_multiple", 1.0), ("depth_multiple", 1.0), ("resolution", None)):
            self._option(k, model.get(k, default), decl, f"model.{k}")
        train = dict(train or {})
        unknown = set(train) - _TRAIN_KEYS - _FIXED_ONLY_TRAIN
        if unknown:
            raise ValueError(
                f"train: unknown key(s) {sorted(unknown)}; allowed: "
                f"{sorted(_TRAIN_KEYS | _FIXED_ONLY_TRAIN)}."
            )
        for k, v in train.items():
            if k in _FIXED_ONLY_TRAIN:
                if isinstance(v, (list, Mapping)):
                    raise ValueError(
                        f"train.{k} is a budget/setting, not searchable: give one value "
                        f"(fidelity goes in the `fidelity` section), got {v!r}."
                    )
                self.fixed[k] = v
            else:
                self._option(k, v, decl, f"train.{k}")
        try:
            self.space = st.Space.from_dict(decl)
        except st.SpaceError as e:
            raise ValueError(f"search space: {e}") from None

    # --- declaration --------------------------------------------------------------------
    def _option(
        self,
        name: str,
        value: Any,
        decl: dict[str, Any],
        where: str,
        when: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(value, list):
            if not value:
                raise ValueError(f"{where}: an empty list of choices.")
            if len(value) == 1:
                self.fixed[name] = value[0]
                return
            entry: dict[str, Any] = {"type": "categorical", "choices": list(value)}
        elif isinstance(value, Mapping):
            entry = dict(value)
            if "type" not in entry and "choices" not in entry:
                raise ValueError(
                    f"{where}: a mapping must declare a parameter ({{type: float|int|"
                    f"categorical, low, high}} or {{choices: [...]}}), got {dict(value)!r}."
                )
        else:
            self.fixed[name] = value
            return
        if when and "when" not in entry:
            entry["when"] = when
        decl[name] = entry

    def _add_stage(self, i: int, stage: Any, decl: dict[str, Any]) -> None:
        where = f"model.stages[{i}]"
        stage = _checked_mapping(stage, where, STAGE_KEYS)
        raw = stage.get("block", "InvertedResidual")
        choices = (
            raw
            if isinstance(raw, list)
            else (list(raw.get("choices", [])) if isinstance(raw, Mapping) else [raw])
        )
        blocks = []
        for b in choices:
            try:
                name = resolve_block(str(b))
            except SpecError as e:
                raise ValueError(f"{where}.block: {e}") from None
            if name not in _BLOCK_KEYS:
                raise ValueError(
                    f"{where}.block: {name} cannot be a stage block; use one of "
                    f"{sorted(_BLOCK_KEYS)}."
                )
            blocks.append(name)
        self.stage_blocks.append(blocks)
        self._option(f"s{i}_block", blocks, decl, f"{where}.block")
        self._option(f"s{i}_depth", stage.get("depth", 1), decl, f"{where}.depth")
        defaults = {"c2": 16, "k": 3, "s": 1, "act": "relu", "t": 4, "se": False}
        for key in ("c2", "k", "s", "act", "t", "se"):
            users = [b for b in blocks if key in _BLOCK_KEYS[b]]
            if not users:
                continue
            when = None
            if len(users) < len(blocks):
                when = {f"s{i}_block": users}
            self._option(f"s{i}_{key}", stage.get(key, defaults[key]), decl, f"{where}.{key}", when)

    # --- use ----------------------------------------------------------------------------
    def suggest(self, trial: Any) -> dict[str, Any]:
        """Sample through ``trial``; return all values (fixed ones included)."""
        values = dict(self.fixed)
        values.update(self.space.suggest(trial))
        return values

    def to_spec(self, values: Mapping[str, Any]) -> ModelSpec:
        """The model spec of one configuration."""
        v = dict(self.fixed)
        v.update(values)
        layers: list[list[Any]] = [
            [
                1,
                "Conv",
                {"c2": v["stem_c2"], "k": v["stem_k"], "s": v["stem_s"], "act": v["stem_act"]},
            ]
        ]
        for i in range(self.n_stages):
            block = resolve_block(str(v[f"s{i}_block"]))
            args: dict[str, Any] = {}
            for key in ("c2", "k", "s", "act", "t", "se"):
                name = f"s{i}_{key}"
                if key in _BLOCK_KEYS[block] and name in v:
                    args[key] = v[name]
            if block == "Ghost":
                args["dk"] = args.pop("k", 3)
                args["res"] = True
            if block == "MBConv" and "se" in args:
                args["se"] = (
                    0.25 if args["se"] is True else (0.0 if args["se"] is False else args["se"])
                )
            layers.append([int(v[f"s{i}_depth"]), block, args])
        if v.get("head_c2"):
            layers.append([1, "Conv", {"c2": v["head_c2"], "k": 1, "act": v["head_act"]}])
        head: dict[str, Any] = {}
        if v.get("head_dropout"):
            head["dropout"] = float(v["head_dropout"])
        if v.get("head_hidden"):
            head["hidden"] = int(v["head_hidden"])
            head["act"] = v["head_act"]
        layers.append([1, "Classify", head])
        res = v.get("resolution")
        size = (
            self.input_size
            if res is None
            else ((1, int(res)) if self.input_size[0] == 1 else (int(res), int(res)))
        )
        return ModelSpec(
            layers=layers,
            in_channels=self.in_channels,
            num_classes=self.num_classes,
            depth_multiple=float(v["depth_multiple"]),
            width_multiple=float(v["width_multiple"]),
            channel_divisor=self.channel_divisor,
            input_size=size,
        )

    def to_train_config(self, values: Mapping[str, Any], **override: Any) -> TrainConfig:
        """The training recipe of one configuration (budgets from ``override``)."""
        v = dict(self.fixed)
        v.update(values)
        kw = {k: v[k] for k in _TRAIN_KEYS | _FIXED_ONLY_TRAIN if k in v}
        if v.get("resolution") is not None:
            kw["resolution"] = int(v["resolution"])
        kw.update(override)
        return TrainConfig(**kw)


def _checked_mapping(obj: Any, where: str, keys: Collection[str]) -> Mapping[str, Any]:
    """``obj`` if it is a mapping whose keys are all in ``keys``; else a ValueError naming
    ``where`` and the allowed keys."""
    if not isinstance(obj, Mapping):
        raise ValueError(f"{where} must be a mapping with keys {list(keys)}.")
    bad = set(obj) - set(keys)
    if bad:
        raise ValueError(f"{where}: unknown key(s) {sorted(bad)}; allowed: {list(keys)}.")
    return obj
