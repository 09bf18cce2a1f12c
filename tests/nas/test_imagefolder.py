"""Bringing your own images (issue 15): the folder data source (channels detected, sizes
resized or checked, one-line errors for the mistakes a user makes with a folder) and
``slimtune search examples/nas_imagefolder.yaml`` end to end on a generated folder."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
PIL = pytest.importorskip("PIL")
import yaml  # noqa: E402
from PIL import Image  # noqa: E402

from slimtune.cli import main  # noqa: E402
from slimtune.nas.data import load_data, load_image_folder, make_image_folder  # noqa: E402

pytestmark = pytest.mark.nas

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nas_imagefolder.yaml"


def _gray_png(path: Path, size: tuple[int, int], value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size, value, dtype=np.uint8), mode="L").save(path)


def test_a_generated_rgb_folder_loads_with_its_channels_classes_and_splits(tmp_path):
    root = make_image_folder(tmp_path / "imgs", n_classes=3, per_class=10, size=16, seed=1)
    d = load_data({"name": "folder", "path": str(root), "size": 16, "test_fraction": 0.2})
    assert d.classes == ("class_0", "class_1", "class_2") and d.num_classes == 3
    assert d.in_channels == 3 and d.input_size == (16, 16)
    assert len(d.y_train) + len(d.y_val) + len(d.y_test) == 30
    assert np.bincount(d.y_test).tolist() == [2, 2, 2]  # stratified
    assert d.x_train.dtype == np.float32
    np.testing.assert_allclose(d.x_train.mean(axis=(0, 2, 3)), 0, atol=1e-4)  # standardised
    again = load_image_folder(root, size=16, test_fraction=0.2)
    np.testing.assert_array_equal(again.x_train, d.x_train)  # deterministic
    # the same images as .npy arrays (no Pillow needed) read the same (uint8 scaled to [0, 1])
    npy = make_image_folder(tmp_path / "npy", n_classes=3, per_class=10, size=16, seed=1,
                            fmt="npy")
    d2 = load_image_folder(npy, size=16, test_fraction=0.2)
    np.testing.assert_allclose(d2.x_train, d.x_train, atol=1e-5)


def test_sizes_are_resized_or_kept_and_mixed_sizes_are_named(tmp_path):
    root = tmp_path / "mixed"
    for k in range(2):
        for i in range(3):
            _gray_png(root / f"c{k}" / f"{i}.png", (12, 12) if i else (20, 10), 40 * k + i)
    d = load_image_folder(root, size=8)  # every file resized
    assert d.input_size == (8, 8) and d.in_channels == 1  # grayscale detected
    assert load_image_folder(root, size=(6, 10)).input_size == (6, 10)
    with pytest.raises(ValueError) as e:
        load_image_folder(root, size=None)
    msg = str(e.value)
    assert "0.png is 20x10" in msg and "1.png is 12x12" in msg and "data.size" in msg
    assert "\n" not in msg
    same = tmp_path / "same"
    for k in range(2):
        for i in range(2):
            _gray_png(same / f"c{k}" / f"{i}.png", (9, 7), 10 * k + i)
    assert load_image_folder(same, size=None).input_size == (9, 7)
    assert load_image_folder(same, size=None, grayscale=False).in_channels == 3
    with pytest.raises(ValueError, match=r"data.size=0: use an int"):
        load_image_folder(same, size=0)


def test_channel_detection_rgba_and_grayscale_forcing(tmp_path):
    root = tmp_path / "rgba"
    for k in range(2):
        (root / f"c{k}").mkdir(parents=True)
        for i in range(2):
            a = np.zeros((8, 8, 4), dtype=np.uint8)
            a[..., k] = 200
            a[..., 3] = 255
            Image.fromarray(a, mode="RGBA").save(root / f"c{k}" / f"{i}.png")
    d = load_image_folder(root, size=8)
    assert d.in_channels == 3  # alpha dropped
    assert load_image_folder(root, size=8, grayscale=True).in_channels == 1
    _gray_png(root / "c0" / "9.png", (8, 8), 77)  # one grayscale file among RGB ones
    assert load_image_folder(root, size=8).in_channels == 3  # auto: RGB unless all are gray
    with pytest.raises(ValueError, match="data.grayscale='yes': use true, false or auto"):
        load_image_folder(root, grayscale="yes")
    deep = tmp_path / "deep"  # 16-bit grayscale PNGs keep their depth (not clipped to 8 bits)
    for k, value in enumerate((1000, 60000)):
        (deep / f"c{k}").mkdir(parents=True)
        for i in range(2):
            a16 = np.full((6, 6), value + i, dtype=np.uint16)
            Image.fromarray(a16).save(deep / f"c{k}" / f"{i}.png")
    d16 = load_image_folder(deep, size=6, val_fraction=0.5)
    assert d16.in_channels == 1
    assert d16.x_train[d16.y_train == 0].mean() < d16.x_train[d16.y_train == 1].mean()


def test_the_mistakes_a_user_makes_with_a_folder_are_one_line_errors(tmp_path, caplog):
    with pytest.raises(ValueError, match="does not exist or is not a directory; check data.path"):
        load_image_folder(tmp_path / "missing")
    loose = tmp_path / "loose"
    for i in range(3):
        _gray_png(loose / f"{i}.png", (4, 4), i)
    with pytest.raises(ValueError, match="3 images lie directly in it: move them into one"):
        load_image_folder(loose)
    root = make_image_folder(tmp_path / "ok", n_classes=2, per_class=3, size=8)
    (root / "class_2").mkdir()
    with pytest.raises(ValueError) as e:
        load_image_folder(root)
    assert "class folder 'class_2' has 0 image(s)" in str(e.value)
    assert "add images or remove the folder" in str(e.value) and "\n" not in str(e.value)
    (root / "class_2").rmdir()
    (root / ".ipynb_checkpoints").mkdir()  # hidden folders are not classes
    (root / "class_0" / "notes.txt").write_text("not an image")
    with caplog.at_level(logging.WARNING, logger="slimtune.nas"):
        d = load_image_folder(root, size=8)
    assert d.classes == ("class_0", "class_1")
    assert "1 file(s) that are not images were ignored" in caplog.text
    (root / "class_1" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"cannot read image .*broken.png.*fix or remove it"):
        load_image_folder(root, size=8)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['channels'\] for folder"):
        load_data({"name": "folder", "path": str(root), "channels": 3})


def _small_config(tmp_path: Path, images: Path) -> Path:
    """The example config, shrunk to a few trials of 2 epochs (the space and data as is)."""
    cfg = yaml.safe_load(EXAMPLE.read_text())
    cfg["study"].update(n_trials=4, n_jobs=1, storage=None, timeout=None)
    cfg["data"]["path"] = str(images)
    cfg["sampler"] = {"name": "RandomSampler"}
    cfg["pruner"] = {"name": "NopPruner"}
    cfg["constraints"] = {"max_macs": 1_500_000}
    cfg["fidelity"] = {"epochs": 2}
    cfg["retrain"] = {"top_k": 1, "epochs": 2}
    cfg["output"].update(dir=str(tmp_path / "out"), export=["torchscript"])
    p = tmp_path / "nas_imagefolder_small.yaml"
    p.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return p


def test_example_config_parses_for_32x32_rgb():
    import slimtune.nas.selection  # noqa: F401  (registers the pick rules load_config checks)
    from slimtune.nas.config import load_config
    from slimtune.nas.space import ArchSpace

    cfg = load_config(EXAMPLE)
    assert cfg.data["name"] == "folder" and cfg.data["size"] == 32
    assert cfg.train["device"] == "auto"
    ArchSpace(cfg.model, cfg.train, 3, 10, (32, 32))  # the space fits 32x32 RGB


def test_slimtune_search_on_an_image_folder_end_to_end(tmp_path, capsys):
    images = make_image_folder(tmp_path / "images", n_classes=3, per_class=20, size=32, seed=0)
    config = _small_config(tmp_path, images)
    assert main(["search", str(config), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    out = tmp_path / "out"
    for name in ("pareto.csv", "trials.csv", "pareto.png", "model.yaml", "model.pt",
                 "model.torchscript.pt", "train.yaml", "model_card.md"):
        assert (out / name).is_file(), name
    rows = (out / "pareto.csv").read_text().splitlines()
    assert rows[0].startswith("trial,accuracy,f1,macs,params") and len(rows) >= 2
    spec = yaml.safe_load((out / "model.yaml").read_text())
    assert spec["in_channels"] == 3 and spec["num_classes"] == 3
    assert spec["input_size"] == [32, 32]
    card = (out / "model_card.md").read_text()
    assert "images: 3 classes (class_0, class_1, class_2), 3x32x32" in card
    assert "test accuracy" in card and "trained on cpu" in card
    assert "## Layers (input 3x32x32)" in card
    assert max(len(line) for line in card.splitlines()) <= 100
    assert card.strip().splitlines()[0] in printed  # printed at the end of the search
    # the exported model predicts the classes of new images of the same folder layout
    model = torch.jit.load(str(out / "model.torchscript.pt"))
    with torch.inference_mode():
        logits = model(torch.zeros(2, 3, 32, 32))
    assert tuple(logits.shape) == (2, 3)
    assert main(["card", str(out)]) == 0
    assert capsys.readouterr().out == card


def test_slimtune_search_names_an_empty_class_folder_in_one_line(tmp_path, capsys):
    images = make_image_folder(tmp_path / "images", n_classes=2, per_class=3, size=8)
    (images / "class_2").mkdir()
    config = _small_config(tmp_path, images)
    assert main(["search", str(config), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert "class folder 'class_2' has 0 image(s)" in err[0]
