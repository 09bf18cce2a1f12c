"""NAS data loaders (offline), fidelity-aware training, metrics, latency and exports."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from slimtune.nas import data as D  # noqa: E402
from slimtune.nas.export import export_model, load_model, onnx_available  # noqa: E402
from slimtune.nas.profile import measure_latency  # noqa: E402
from slimtune.nas.spec import build_model  # noqa: E402
from slimtune.nas.train import (  # noqa: E402
    TrainConfig,
    _augment,
    macro_f1,
    resize_images,
    set_seed,
    train_model,
)

pytestmark = pytest.mark.nas

SPEC = {
    "in_channels": 1,
    "num_classes": 10,
    "channel_divisor": 4,
    "input_size": [8, 8],
    "layers": [
        [1, "Conv", {"c2": 8, "k": 3}],
        [1, "InvertedResidualV3", {"c2": 12, "s": 2, "t": 2, "se": True}],
        [1, "Classify", {}],
    ],
}


@pytest.fixture(scope="module")
def digits():
    return D.load_digits(seed=0, test_fraction=0.2)


def test_digits_split_is_stratified_and_standardised(digits):
    n = len(digits.y_train) + len(digits.y_val) + len(digits.y_test)
    assert n == 1797 and digits.x_train.shape[1:] == (1, 8, 8)
    assert digits.num_classes == 10
    val_share = np.bincount(digits.y_val) / np.bincount(np.r_[digits.y_train, digits.y_val])
    assert np.allclose(val_share, 0.2, atol=0.02)
    assert abs(float(digits.x_train.mean())) < 1e-3 and abs(digits.x_train.std() - 1) < 1e-2


def test_stratified_subset_is_the_public_one():
    """nas splits and subsets with ``slimtune.fidelity.stratified_subset`` (re-exported)."""
    from slimtune.fidelity import stratified_subset

    assert D.stratified_subset is stratified_subset
    y = np.repeat(np.arange(4), [100, 50, 20, 2])
    idx = D.stratified_subset(y, 0.1, seed=3)
    assert len(idx) == 17  # round(0.1 * 172)
    assert np.all(np.abs(np.bincount(y[idx], minlength=4) - [10, 5, 2, 0.2]) <= 1)
    assert np.array_equal(idx, D.stratified_subset(y, 0.1, seed=3))
    assert not np.array_equal(idx, D.stratified_subset(y, 0.1, seed=4))
    with pytest.raises(ValueError, match="fraction"):
        D.stratified_subset(y, 0.0)


def test_training_subset_is_the_stratified_subset_of_the_seed(digits, monkeypatch):
    from slimtune.nas import train as T

    seen = []
    real = T.stratified_subset
    monkeypatch.setattr(
        T, "stratified_subset", lambda y, f, seed: seen.append(real(y, f, seed=seed)) or seen[-1]
    )
    set_seed(0)
    train_model(build_model(SPEC), digits, TrainConfig(epochs=1, subset=0.3, seed=5, threads=1))
    assert np.array_equal(seen[0], real(digits.y_train, 0.3, seed=5))
    assert len(seen[0]) == round(0.3 * len(digits.y_train))


def test_mnist1d_is_generated_offline(monkeypatch):
    import requests

    def no_network(*a, **k):
        raise AssertionError("mnist1d tried to download")

    monkeypatch.setattr(requests, "get", no_network)
    state = np.random.get_state()[1].copy()
    ds = D.load_data({"name": "mnist1d", "num_samples": 600, "seed": 1})
    assert ds.x_train.shape[1:] == (1, 1, 40) and ds.num_classes == 10
    assert ds.x_test is not None and len(ds.x_test) > 0
    assert np.array_equal(np.random.get_state()[1], state)  # global RNG left alone
    # 1-row signals work with our 2D blocks ("same" padding keeps the height at 1)
    spec = dict(SPEC, input_size=[1, 40])
    m = build_model(spec)
    assert tuple(m(torch.from_numpy(ds.x_val[:3])).shape) == (3, 10)


def test_image_folder_png_and_npy(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        for i in range(5):
            a = (rng.random((12, 10, 3)) * 255).astype(np.uint8)
            Image.fromarray(a).save(tmp_path / cls / f"{i}.png")
        np.save(tmp_path / cls / "extra.npy", rng.random((6, 6)))
        (tmp_path / cls / "notes.txt").write_text("ignored")
    ds = D.load_data(
        {
            "name": "folder",
            "path": str(tmp_path),
            "size": 8,
            "grayscale": True,
            "val_fraction": 0.25,
        }
    )
    assert ds.classes == ("cat", "dog")
    assert len(ds.y_train) + len(ds.y_val) == 12
    assert ds.x_train.shape[1:] == (1, 8, 8)
    with pytest.raises(ValueError, match="does not exist"):
        D.load_image_folder(tmp_path / "missing")


def test_numpy_arrays_and_npz(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((40, 6, 6)).astype(np.float32)
    y = np.repeat([3, 7], 20)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    ds = D.load_data({"name": "npz", "path": str(tmp_path / "d.npz")})
    assert ds.classes == ("3", "7") and set(np.unique(ds.y_train)) == {0, 1}
    with pytest.raises(ValueError, match=r"data.name='imagenet'"):
        D.load_data({"name": "imagenet"})
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['colour'\]"):
        D.load_data({"name": "digits", "colour": 1})


def test_macro_f1_matches_sklearn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 200)
    p = np.where(rng.random(200) < 0.7, y, rng.integers(0, 5, 200))
    assert macro_f1(y, p, 5) == pytest.approx(f1_score(y, p, average="macro"))


def test_augment_and_resize_shapes():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 1, 8, 8)
    a = _augment(x, 1.0, g)
    assert a.shape == x.shape and not torch.equal(a, x)
    assert torch.equal(_augment(x, 0.0, g), x)
    assert resize_images(x, 12).shape == (5, 1, 12, 12)
    assert resize_images(torch.randn(2, 1, 1, 40), 20).shape == (2, 1, 1, 20)


def test_training_is_deterministic_and_learns(digits):
    cfg = TrainConfig(epochs=4, lr=1e-2, batch_size=32, subset=0.6, seed=5, threads=1, augment=0.2)
    seen = []

    def run():
        set_seed(5)
        m = build_model(SPEC)
        hist = []
        r = train_model(m, digits, cfg, on_epoch=lambda e, mt: hist.append((e, mt["accuracy"])))
        seen.append(hist)
        return r, m

    r1, m1 = run()
    r2, m2 = run()
    assert r1.accuracy == r2.accuracy and r1.f1 == r2.f1
    assert all(
        torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values())
    )
    assert [e for e, _ in seen[0]] == [1, 2, 3, 4]  # per-epoch callback
    assert r1.accuracy > 0.5  # 10 classes: chance is 0.1


def test_resolution_fidelity_changes_input(digits):
    m = build_model(SPEC, check=False)
    r = train_model(m, digits, TrainConfig(epochs=1, resolution=6, subset=0.2, threads=1))
    assert r.epochs == 1


def test_train_config_errors_name_the_key():
    with pytest.raises(ValueError, match=r"train.optimizer='lion'"):
        TrainConfig(optimizer="lion")
    with pytest.raises(ValueError, match=r"train.subset=0"):
        TrainConfig(subset=0)


def test_latency_median_restores_threads():
    before = torch.get_num_threads()
    ms = measure_latency(build_model(SPEC), (1, 1, 8, 8), threads=1, warmup=2, repeats=5)
    assert ms > 0 and torch.get_num_threads() == before


def test_exports_load_and_predict_the_same(tmp_path, digits):
    set_seed(0)
    m = build_model(SPEC)
    train_model(m, digits, TrainConfig(epochs=1, subset=0.3, threads=1))  # non-trivial BN stats
    files = export_model(m, tmp_path, formats=("torchscript", "onnx"))
    x = torch.from_numpy(digits.x_val[:16])
    with torch.no_grad():
        ref = m.eval()(x)
        ts = torch.jit.load(str(files["torchscript"]))
        assert torch.allclose(ts(x), ref, atol=1e-5)
        again = load_model(files["spec"], files["weights"])
        assert torch.allclose(again(x), ref, atol=1e-6)
    assert files["torchscript_max_abs_diff"] < 1e-5
    if onnx_available():
        from slimtune.nas.export import onnx_predict

        got = onnx_predict(files["onnx"], x.numpy())
        assert np.allclose(got, ref.numpy(), atol=1e-4)
        assert files["onnx_max_abs_diff"] < 1e-4
