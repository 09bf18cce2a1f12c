"""The model card (issue 15): its content from a fabricated search result (layers with
output shapes, MACs, params, latency, validation and test scores, recipe, device, pick
rule, files), its width and length, how ``slimtune search`` prints it and ``slimtune card``
(and its one-line errors)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from rich.console import Console  # noqa: E402

import slimtune as st  # noqa: E402
import slimtune.nas.selection  # noqa: E402, F401  (registers the pick rules)
from slimtune.cli import main  # noqa: E402
from slimtune.nas.card import CARD_FILE, model_card, render_card, write_card  # noqa: E402
from slimtune.nas.config import SearchConfig  # noqa: E402
from slimtune.nas.data import Dataset  # noqa: E402
from slimtune.nas.objective import TrialRecord  # noqa: E402
from slimtune.nas.outputs import print_summary  # noqa: E402
from slimtune.nas.profile import profile_spec  # noqa: E402
from slimtune.nas.search import SearchResult  # noqa: E402
from slimtune.nas.selection import collect_candidates, pick_model  # noqa: E402
from slimtune.nas.spec import ModelSpec, build_model  # noqa: E402
from slimtune.nas.train import evaluate  # noqa: E402

pytestmark = pytest.mark.nas

SPEC = {
    "in_channels": 3,
    "num_classes": 4,
    "channel_divisor": 4,
    "width_multiple": 0.5,
    "input_size": [16, 16],
    "layers": [
        [1, "Conv", {"c2": 16, "k": 3, "s": 1, "act": "relu"}],
        [2, "InvertedResidual", {"c2": 32, "k": 3, "s": 2, "t": 4, "act": "hardswish"}],
        [1, "DWSConv", {"c2": 48, "k": 5, "s": 2, "se": True}],
        [1, "Conv", {"c2": 64, "k": 1, "act": "relu"}],
        [1, "Classify", {}],
    ],
}
CONFIG = {
    "study": {"name": "card", "seed": 0},
    "data": {"name": "digits"},
    "objectives": ["accuracy", "macs"],
    "model": {"stages": [{"block": "Conv", "c2": 8}]},
    "train": {
        "optimizer": ["adam", "sgd"],
        "lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True},
        "batch_size": 32,
        "augment": 0.25,
    },
    "fidelity": {"epochs": 3},
    "pick": {"rule": "budget", "max_macs": 10},
}


def _data(seed: int = 0, test: bool = True) -> Dataset:
    rng = np.random.default_rng(seed)
    x = lambda n: rng.normal(size=(n, 3, 16, 16)).astype(np.float32)  # noqa: E731
    y = lambda n: np.arange(n) % 4  # noqa: E731
    xt, yt = (x(20), y(20)) if test else (None, None)
    return Dataset(x(40), y(40), x(12), y(12), xt, yt, ("cat", "dog", "fox", "owl"), "pets")


def _result(tmp_path: Path, device: str = "cpu", with_model: bool = True) -> SearchResult:
    """A finished search of three trained trials (fabricated records, no training)."""
    study = st.create_study(directions=["maximize", "minimize"])
    prof = profile_spec(ModelSpec.from_dict(SPEC))
    for acc, macs in ((0.9, prof.macs), (0.8, prof.macs * 2), (0.95, 10**7)):
        t = study.ask()
        t.suggest_categorical("optimizer", ["adam", "sgd"])
        t.suggest_float("lr", 1e-3, 1e-1, log=True)
        TrialRecord(macs, prof.params, None, SPEC, acc, acc - 0.01, 3, device=device).save(t)
        study.tell(t, [acc, macs])
    cands = collect_candidates(study, study.directions)
    front = sorted([c for c in cands if c.on_front], key=lambda c: c.macs)
    chosen = pick_model(front, "budget", max_macs=10)
    torch.manual_seed(0)
    model = build_model(SPEC) if with_model else None
    out = tmp_path / "out"
    out.mkdir()
    files = {"pareto_csv": out / "pareto.csv", "spec": out / "model.yaml",
             "weights": out / "model.pt", "train_yaml": out / "train.yaml"}
    return SearchResult(
        study, cands, front, chosen, model, files, 1.0, out_dir=out, n_run=3,
        pick=("budget", {"max_macs": 10}), config=SearchConfig.from_dict(CONFIG),
    )


def test_card_states_the_model_its_scores_recipe_pick_and_files(tmp_path):
    res = _result(tmp_path)
    data = _data()
    card = model_card(res, data)
    c = res.chosen
    assert card.trial == c.number == 0 and card.macs == c.macs and card.params == c.params
    # test scores: the chosen model itself on the held-out split
    expect = evaluate(res.model.eval(), torch.from_numpy(data.x_test), data.y_test, 4)
    assert (card.test_accuracy, card.test_f1) == pytest.approx(expect)
    assert card.latency_ms is not None and card.latency_ms > 0  # measured on the CPU now
    assert [r.role for r in card.layers] == ["stem", "stage 1", "stage 2", "head", "classifier"]
    # width_multiple 0.5 is applied; shapes traced from 16x16
    assert [(r.c2, r.repeat, r.output) for r in card.layers[:3]] == [
        (8, 1, "8x16x16"), (16, 2, "16x8x8"), (24, 1, "24x4x4")]
    assert card.layers[-1].output == "4"
    text = render_card(card)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 100 and len(lines) <= 32  # one screen
    flat = " ".join(text.split())
    assert lines[0] == "# Model card: trial 0 of study '" + res.study.study_name + "'"
    assert "pets: 4 classes (cat, dog, fox, owl), 3x16x16; 40 train / 12 val / 20 test" in flat
    assert f"{c.macs:,}" in flat and f"{c.params:,}" in flat
    assert f"validation accuracy {c.accuracy:.4f}, F1 {c.f1:.4f} (3 epochs)" in flat
    assert f"test accuracy {expect[0]:.4f}" in flat
    lr = res.study.trials[0].params["lr"]
    opt = res.study.trials[0].params["optimizer"]
    assert f"{opt}, lr {lr:.3g}" in flat and "batch 32" in flat and "augment 0.25" in flat
    assert "trained on cpu" in flat
    assert "none has MACs <= 10, so the smallest was chosen" in flat
    assert "among the 2 models of the Pareto front" in flat
    assert "model.yaml (spec), model.pt (weights), train.yaml (recipe)" in flat
    assert f"## Files\n\nin {res.out_dir}/: " in text and "3 trials: 3 trained" in flat
    narrow = render_card(card, width=72)
    assert max(map(len, narrow.splitlines())) <= 72


def test_card_without_test_split_model_or_config_says_what_is_not_known(tmp_path):
    res = _result(tmp_path, device="cuda", with_model=False)
    res.config = None
    card = model_card(res, _data(test=False))
    assert card.test_accuracy is None and card.latency_ms is None
    assert card.device == "cuda"  # from the chosen trial's record
    flat = " ".join(render_card(card).split())
    assert "no test split" in flat and "latency" not in flat
    assert "not known (no search config); trained on cuda" in flat
    res.chosen = None
    assert model_card(res, None) is None


def test_long_names_and_options_stay_within_the_width(tmp_path):
    res = _result(tmp_path)
    data = _data()
    data.classes = tuple("a_very_long_class_name_" + str(i) for i in range(4))
    card = model_card(res, data)
    card.layers[1].extra = "act=hardswish " * 12
    card.files = {k: "a/deeply/nested/directory/" + v for k, v in card.files.items()}
    lines = render_card(card).splitlines()
    assert max(map(len, lines)) <= 100
    assert any(line.endswith("...") for line in lines)  # options cut, never the table


def test_search_prints_the_card_and_slimtune_card_prints_it_again(tmp_path, capsys):
    res = _result(tmp_path)
    path = write_card(model_card(res, _data()), res.out_dir)
    assert path == res.out_dir / CARD_FILE
    res.files["model_card"] = path
    buf = io.StringIO()
    print_summary(res, Console(file=buf, width=100))
    printed = buf.getvalue()
    assert path.read_text().rstrip("\n") in printed
    assert f"`slimtune card {res.out_dir}` prints it again" in printed
    assert "  pareto_csv:" not in printed  # the card lists the files instead
    assert main(["card", str(res.out_dir)]) == 0
    assert capsys.readouterr().out == path.read_text()


def test_slimtune_card_errors_are_one_line_exit_2(tmp_path, capsys):
    assert main(["card", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: output directory {str(tmp_path / 'nowhere')!r} does not exist; give the --out "
        "directory of a search (e.g. nas_out)."
    ]
    assert main(["card", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no model_card.md in" in err[0]
    assert "run `slimtune search CONFIG.yaml --out" in err[0]


def test_the_front_figure_stars_the_chosen_model_also_after_ctrl_c(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from slimtune.nas import search as S
    from slimtune.nas.outputs import front_figure

    res = _result(tmp_path)
    drawn = []
    monkeypatch.setattr(S, "plot_front", lambda c, p, o, chosen=None: drawn.append(chosen))
    chosen, model, _ = S._finish(res.config, res.candidates, res.front, _data(), res.out_dir,
                                 None, interrupted=True, wdir=tmp_path / "no_weights")
    assert chosen.number == 0 and model is None  # no weights kept: not exported
    assert [c.number for c in drawn] == [0]  # drawn again with the choice
    fig = front_figure(res.candidates, ("accuracy", "macs"), chosen)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["chosen: trial 0"]
