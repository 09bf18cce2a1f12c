"""The model card: one screen (<= 100 columns, about 30 lines) on the chosen model of a
search, written as ``model_card.md`` in the output directory, printed at the end of
``slimtune search`` and again by ``slimtune card OUT_DIR``.

It says what the model is (the layers with their channels, strides and output shapes,
MACs, parameters, CPU latency), how good it is (validation accuracy and F1 at the
fidelity it was picked at; the held-out test split when the data has one), how it was
trained (the recipe, the device), why it was picked (the pick rule in words) and where the
files are. :func:`model_card` gathers the facts into a :class:`ModelCard`;
:func:`render_card` lays them out; :func:`write_card` stores the text (``slimtune card``
prints it, without importing torch).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slimtune.nas.config import SearchConfig
from slimtune.nas.data import Dataset
from slimtune.nas.objective import TrialRecord, train_config_for
from slimtune.nas.outputs import pick_sentence, trial_counts
from slimtune.nas.selection import Candidate

if TYPE_CHECKING:
    from slimtune.nas.search import SearchResult

__all__ = ["CARD_FILE", "CARD_WIDTH", "ModelCard", "model_card", "render_card", "write_card"]

CARD_FILE = "model_card.md"
"""The card's file name in a search's output directory."""

CARD_WIDTH = 100
"""No line of the card is wider (in characters)."""

# What each output file is, in the card's file list (keys of ``SearchResult.files``).
_FILE_ROLES = {
    "spec": "spec",
    "weights": "weights",
    "torchscript": "TorchScript",
    "onnx": "ONNX",
    "train_yaml": "recipe",
    "pareto_csv": "front",
    "trials_csv": "all trained",
    "retrained_csv": "retrained",
    "plot": "plot",
}


@dataclass
class LayerRow:
    """One entry of the spec: its role, block, repeats, arguments and output shape."""

    role: str
    block: str
    repeat: int
    c2: int | None
    k: int | None
    s: int | None
    extra: str
    output: str


@dataclass
class ModelCard:
    """The facts of a card (everything :func:`render_card` prints)."""

    trial: int
    study: str
    macs: int
    params: int
    accuracy: float
    f1: float
    score: str = "accuracy"
    latency_ms: float | None = None
    latency_note: str = ""
    test_accuracy: float | None = None
    test_f1: float | None = None
    epochs: int = 0
    retrained: bool = False
    device: str | None = None
    recipe: dict[str, Any] = field(default_factory=dict)
    pick: str = ""
    data: str = ""
    input_shape: str = ""
    layers: list[LayerRow] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    out_dir: str = ""
    trials: str = ""


def _layer_rows(spec: dict[str, Any]) -> tuple[list[LayerRow], str]:
    """The rows of the spec's layers and the input shape ``CxHxW`` (output shapes traced
    on the meta device when the spec has an input size)."""
    from slimtune.nas.spec import ModelSpec, build_model, check_shapes

    ms = ModelSpec.from_dict(spec)
    entries = ms.resolved()
    shapes: list[tuple[int, ...]] = []
    size = ms.input_size
    if size is not None:
        shapes = check_shapes(build_model(ms, check=False), entries, ms.in_channels, size)
    inp = f"{ms.in_channels}x{size[0]}x{size[1]}" if size is not None else f"{ms.in_channels}xHxW"
    last_of: dict[int, int] = {}
    count: dict[int, int] = {}
    for j, (i, *_rest) in enumerate(entries):
        last_of[i] = j
        count[i] = count.get(i, 0) + 1
    rows = []
    n = len(ms.layers)
    stage = 0
    for i in sorted(count):
        first = next(e for e in entries if e[0] == i)
        _, block, args, _c1 = first
        if i == n - 1 and block == "Classify":
            role = "classifier"
        elif i == 0 and n > 2:
            role = "stem"
        elif i == n - 2 and block == "Conv" and args.get("k", 1) == 1 and n > 3:
            role = "head"
        else:
            stage += 1
            role = f"stage {stage}"
        shown = ("c2", "k", "s")
        extra = " ".join(
            f"{k}={_short(v)}" for k, v in args.items() if k not in shown and v is not None
        )
        out = ""
        if shapes:
            shp = shapes[last_of[i]]
            out = "x".join(str(v) for v in shp[1:])
        rows.append(
            LayerRow(role, block, count[i], args.get("c2"), args.get("k"), args.get("s"), extra,
                     out)
        )
    return rows, inp


def _short(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _data_line(data: Dataset) -> str:
    names = ", ".join(data.classes[:4]) + (", ..." if data.num_classes > 4 else "")
    test = f" / {len(data.y_test)} test" if data.y_test is not None else ""
    h, w = data.input_size
    return (
        f"{data.name}: {data.num_classes} classes ({names}), {data.in_channels}x{h}x{w}; "
        f"{len(data.y_train)} train / {len(data.y_val)} val{test}"
    )


def _test_scores(
    cfg: SearchConfig, chosen: Candidate, model: Any, data: Dataset
) -> tuple[float, float]:
    """The chosen model's accuracy and F1 on the test split, its inputs resized as in the
    training run that produced its weights (search fidelity unless retrained)."""
    import torch

    from slimtune.nas.train import evaluate, resize_images

    tc = train_config_for(cfg, chosen.params_values, epochs=max(chosen.epochs, 1))
    res = tc.resolution
    if not chosen.retrained and cfg.fidelity.resolution is not None:
        res = cfg.fidelity.resolution
    model = model.cpu().eval()
    x = resize_images(torch.from_numpy(data.x_test), res)
    return evaluate(model, x, data.y_test, data.num_classes)


def model_card(res: SearchResult, data: Dataset | None = None) -> ModelCard | None:
    """The card of ``res.chosen`` (None when no model was chosen). With ``data`` that has a
    test split and an exported model, the test scores are computed; a latency not measured
    during the search is measured now on the CPU (1 thread, batch 1)."""
    c = res.chosen
    if c is None:
        return None
    cfg = res.config
    rows, inp = _layer_rows(c.spec) if c.spec else ([], "")
    lat, note = c.latency_ms, "measured during the search, CPU, 1 thread, batch 1"
    if lat is None and res.model is not None and c.spec.get("input_size"):
        from slimtune.nas.profile import measure_latency

        shape = (1, int(c.spec["in_channels"]), *map(int, c.spec["input_size"]))
        lat = measure_latency(res.model.cpu().eval(), shape, threads=1)
        note = "measured after the search, CPU, 1 thread, batch 1"
    t_acc = t_f1 = None
    if data is not None and data.x_test is not None and res.model is not None and cfg is not None:
        t_acc, t_f1 = _test_scores(cfg, c, res.model, data)
    recipe: dict[str, Any] = {}
    device = None
    if cfg is not None:
        tc = train_config_for(cfg, c.params_values, epochs=max(c.epochs, 1))
        recipe = {k: v for k, v in tc.__dict__.items() if k not in ("device", "threads", "seed")}
        if c.retrained:
            from slimtune.nas.train import resolve_device

            device = str(resolve_device(tc.device))
    if device is None:
        trial = res.study.trials[c.number] if c.number < len(res.study.trials) else None
        rec = TrialRecord.of(trial) if trial is not None else None
        device = rec.device if rec is not None else None
    out = Path(res.out_dir) if res.out_dir is not None else None
    files = {}
    for key, p in res.files.items():
        if isinstance(p, Path) and key in _FILE_ROLES:
            rel = p.relative_to(out) if out is not None and p.is_relative_to(out) else p
            files[key] = str(rel)
    return ModelCard(
        trial=c.number,
        study=res.study.study_name,
        macs=c.macs,
        params=c.params,
        accuracy=c.accuracy,
        f1=c.f1,
        score=cfg.score if cfg is not None else "accuracy",
        latency_ms=lat,
        latency_note=note if lat is not None else "",
        test_accuracy=t_acc,
        test_f1=t_f1,
        epochs=c.epochs,
        retrained=c.retrained,
        device=device,
        recipe=recipe,
        pick=pick_sentence(res),
        data=_data_line(data) if data is not None else "",
        input_shape=inp,
        layers=rows,
        files=files,
        out_dir=str(out) if out is not None else "",
        trials=f"{len(res.study.trials)} trials: {trial_counts(res.study)}",
    )


def _count(n: int) -> str:
    from slimtune.tables import format_count

    return f"{n:,} ({format_count(n)})" if n >= 1000 else f"{n:,}"


def _recipe_text(r: dict[str, Any]) -> str:
    if not r:
        return "not known (no search config)"
    parts = [str(r.get("optimizer", "?")), f"lr {r['lr']:.3g}"]
    if r.get("optimizer") in ("sgd", "rmsprop"):
        parts.append(f"momentum {r['momentum']:.3g}")
    parts += [
        f"weight decay {r['weight_decay']:.2g}",
        f"batch {r['batch_size']}",
        f"{r['epochs']} epochs (cosine)",
        f"label smoothing {r['label_smoothing']:g}",
        f"augment {r['augment']:.2f}",
    ]
    if r.get("subset", 1.0) < 1:
        parts.append(f"subset {r['subset']:g}")
    if r.get("resolution"):
        parts.append(f"resolution {r['resolution']}")
    return ", ".join(parts)


def render_card(card: ModelCard, width: int = CARD_WIDTH) -> str:
    """The card as Markdown that reads as plain text too; no line is wider than
    ``width``."""

    def item(key: str, text: str) -> list[str]:
        return textwrap.wrap(
            text, width, initial_indent=f"- {key + ':':<10} ", subsequent_indent=" " * 13,
            break_on_hyphens=False,
        )

    def fit(line: str) -> str:  # a heading is cut, never wrapped
        return line if len(line) <= width else line[: width - 3] + "..."

    lines = [fit(f"# Model card: trial {card.trial} of study {card.study!r}"), ""]
    if card.data:
        lines += item("data", card.data)
    size = f"{_count(card.macs)} MACs, {_count(card.params)} params"
    lines += item("size", size)
    if card.latency_ms is not None:
        lines += item("latency", f"{card.latency_ms:.3g} ms ({card.latency_note})")
    how = f"retrained {card.epochs} epochs" if card.retrained else f"{card.epochs} epochs"
    score = f"validation accuracy {card.accuracy:.4f}, F1 {card.f1:.4f} ({how})"
    if card.test_accuracy is not None:
        score += f"; test accuracy {card.test_accuracy:.4f}, F1 {card.test_f1:.4f}"
    else:
        score += "; no test split"
    lines += item("scores", score)
    recipe = _recipe_text(card.recipe)
    if card.device:
        recipe += f"; trained on {card.device}"
    lines += item("recipe", recipe)
    if card.pick:
        lines += item("picked", card.pick)
    if card.trials:
        lines += item("search", card.trials)
    if card.layers:
        lines += ["", fit(f"## Layers (input {card.input_shape})"), "", "```"]
        head = ("", "block", "n", "c_out", "k", "s", "output", "options")
        table = [head] + [
            (
                r.role,
                r.block,
                str(r.repeat),
                "" if r.c2 is None else str(r.c2),
                "" if r.k is None else str(r.k),
                "" if r.s is None else str(r.s),
                r.output,
                r.extra,
            )
            for r in card.layers
        ]
        widths = [max(len(row[j]) for row in table) for j in range(len(head) - 1)]
        for row in table:
            cells = [row[j].ljust(widths[j]) if j < 2 else row[j].rjust(widths[j])
                     for j in range(len(widths))]
            text = "  ".join(cells)
            rest = width - len(text) - 2
            opts = row[-1]
            if len(opts) > rest:
                opts = opts[: max(rest - 3, 0)] + "..."
            lines.append((text + "  " + opts).rstrip())
        lines.append("```")
    if card.files:
        where = f"in {card.out_dir}/: " if card.out_dir else ""
        listed = ", ".join(f"{p} ({_FILE_ROLES[k]})" for k, p in card.files.items())
        lines += ["", "## Files", ""]
        lines += textwrap.wrap(where + listed, width, break_on_hyphens=False)
    return "\n".join(lines) + "\n"


def write_card(card: ModelCard, out_dir: str | Path, width: int = CARD_WIDTH) -> Path:
    """Write ``model_card.md`` into ``out_dir``; returns its path."""
    path = Path(out_dir) / CARD_FILE
    path.write_text(render_card(card, width))
    return path

