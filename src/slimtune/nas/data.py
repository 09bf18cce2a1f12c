"""Datasets for the search, all offline: scikit-learn digits, MNIST-1D (generated with
``mnist1d.make_dataset``, never downloaded), a folder of images in ImageFolder layout
(read with Pillow, or ``.npy`` files, no torchvision) and NumPy arrays.

Every loader returns a :class:`Dataset`: images as ``float32`` arrays ``(N, C, H, W)``
standardised with the training statistics, integer labels, and a stratified
train / validation (/ test) split.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# the one stratified subset of slimtune (re-exported here: it was once a nas-local copy)
from slimtune.fidelity import stratified_subset

__all__ = ["Dataset", "load_data", "stratified_subset"]

_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@dataclass
class Dataset:
    """Train / validation / test arrays; ``x_*`` are ``(N, C, H, W)`` float32."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    classes: tuple[str, ...] = ()
    name: str = "data"

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def input_size(self) -> tuple[int, int]:
        return int(self.x_train.shape[2]), int(self.x_train.shape[3])


def _split(
    x: np.ndarray, y: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}.")
    val_idx = stratified_subset(y, val_fraction, seed=seed)
    mask = np.zeros(len(y), dtype=bool)
    mask[val_idx] = True
    return x[~mask], y[~mask], x[mask], y[mask]


def _finish(
    x: np.ndarray,
    y: np.ndarray,
    classes: tuple[str, ...],
    name: str,
    val_fraction: float,
    seed: int,
    x_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
) -> Dataset:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        raise ValueError(f"{name}: images must be (N, H, W) or (N, C, H, W), got {x.shape}.")
    if x.ndim == 3:
        x = x[:, None]
    y = np.asarray(y).astype(np.int64)
    if len(x) != len(y):
        raise ValueError(f"{name}: {len(x)} images but {len(y)} labels.")
    xtr, ytr, xva, yva = _split(x, y, val_fraction, seed)
    mean = xtr.mean(axis=(0, 2, 3), keepdims=True)
    std = xtr.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    norm = lambda a: ((a - mean) / std).astype(np.float32)  # noqa: E731
    if x_test is not None:
        x_test = np.asarray(x_test, dtype=np.float32)
        if x_test.ndim == 3:
            x_test = x_test[:, None]
        x_test = norm(x_test)
        y_test = np.asarray(y_test).astype(np.int64)
    return Dataset(norm(xtr), ytr, norm(xva), yva, x_test, y_test, classes, name)


def load_digits(val_fraction: float = 0.2, seed: int = 0, test_fraction: float = 0.0) -> Dataset:
    """scikit-learn's 8x8 handwritten digits (1797 images, 10 classes, bundled)."""
    from sklearn.datasets import load_digits as _ld

    d = _ld()
    x = d.images.astype(np.float32) / 16.0
    y = d.target
    xt = yt = None
    if test_fraction > 0:
        x, y, xt, yt = _split(x, y, test_fraction, seed + 1)
    return _finish(x, y, tuple(str(c) for c in range(10)), "digits", val_fraction, seed, xt, yt)


def load_mnist1d(val_fraction: float = 0.2, seed: int = 0, num_samples: int = 5000) -> Dataset:
    """MNIST-1D (Greydanus 2020) generated offline by ``mnist1d.make_dataset`` (its
    templates are bundled; the package's download path is never used). The signals of
    length 40 become ``1 x 1 x 40`` images; its own test split is the test set."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("MNIST-1D needs the `mnist1d` package: pip install mnist1d") from e
    args = get_dataset_args()
    args.num_samples = int(num_samples)
    args.seed = int(seed)
    py_state, np_state = random.getstate(), np.random.get_state()
    try:  # make_dataset seeds the global RNGs: keep the caller's state
        d = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    x = d["x"][:, None, None, :]
    xt = d["x_test"][:, None, None, :]
    return _finish(
        x,
        d["y"],
        tuple(str(c) for c in range(10)),
        "mnist1d",
        val_fraction,
        seed,
        xt,
        d["y_test"],
    )


def load_image_folder(
    root: str | Path,
    size: tuple[int, int] | int = 32,
    grayscale: bool = False,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> Dataset:
    """``root/<class>/<image>`` files, one folder per class (sorted names = labels).
    Images are read with Pillow (resized to ``size``, RGB or grayscale); ``.npy`` files
    holding ``(H, W)`` or ``(H, W, C)`` arrays work without Pillow."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"image folder {str(root)!r} does not exist or is not a directory.")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if len(classes) < 2:
        raise ValueError(f"image folder {str(root)!r}: need >= 2 class sub-folders, got {classes}.")
    hw = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    xs, ys = [], []
    for label, cname in enumerate(classes):
        for f in sorted((root / cname).iterdir()):
            ext = f.suffix.lower()
            if ext == ".npy":
                a = np.load(f).astype(np.float32)
                if a.ndim == 2:
                    a = a[:, :, None]
                a = _resize_array(a, hw)
            elif ext in _IMAGE_EXT:
                a = _read_image(f, hw, grayscale)
            else:
                continue
            if grayscale and a.shape[2] > 1:
                a = a.mean(axis=2, keepdims=True)
            xs.append(a.transpose(2, 0, 1))
            ys.append(label)
    if not xs:
        raise ValueError(f"image folder {str(root)!r}: no images ({_IMAGE_EXT} or .npy) found.")
    chans = {a.shape[0] for a in xs}
    if len(chans) > 1:
        raise ValueError(
            f"image folder {str(root)!r}: images have different channel counts {sorted(chans)};"
            " set grayscale: true."
        )
    return _finish(np.stack(xs), np.array(ys), tuple(classes), root.name, val_fraction, seed)


def _read_image(path: Path, hw: tuple[int, int], grayscale: bool) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"reading {path.name} needs Pillow (pip install pillow), or store images as .npy."
        ) from e
    with Image.open(path) as im:
        im = im.convert("L" if grayscale else "RGB").resize((hw[1], hw[0]), Image.BILINEAR)
        a = np.asarray(im, dtype=np.float32) / 255.0
    return a[:, :, None] if a.ndim == 2 else a


def _resize_array(a: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an ``(H, W, C)`` array (vectorised indexing)."""
    h, w = a.shape[:2]
    if (h, w) == hw:
        return a
    ri = (np.arange(hw[0]) * h // hw[0]).astype(int)
    ci = (np.arange(hw[1]) * w // hw[1]).astype(int)
    return a[ri][:, ci]


def load_arrays(
    x: np.ndarray | str | Path,
    y: np.ndarray | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    classes: tuple[str, ...] | None = None,
) -> Dataset:
    """NumPy arrays ``x`` ``(N, H, W)`` / ``(N, C, H, W)`` and labels ``y``, or a ``.npz``
    file with arrays ``x`` and ``y``."""
    if isinstance(x, (str, Path)):
        with np.load(x) as f:
            if "x" not in f or "y" not in f:
                raise ValueError(f"{x}: the .npz needs arrays named 'x' and 'y', has {f.files}.")
            x, y = f["x"], f["y"]
    if y is None:
        raise ValueError("load_arrays needs labels y.")
    y = np.asarray(y)
    uniq = np.unique(y)
    if classes is None:
        classes = tuple(str(c) for c in uniq)
    y = np.searchsorted(uniq, y)
    return _finish(np.asarray(x), y, classes, "arrays", val_fraction, seed)


_LOADERS = {"digits", "mnist1d", "folder", "npz"}


def load_data(cfg: Mapping[str, Any] | str) -> Dataset:
    """A dataset from a config: ``"digits"``, ``{name: mnist1d}``,
    ``{name: folder, path: DIR, size: 32, grayscale: false}``,
    ``{name: npz, path: FILE.npz}``; ``val_fraction`` and ``seed`` apply to all."""
    if isinstance(cfg, str):
        cfg = {"name": cfg}
    c = dict(cfg)
    name = str(c.pop("name", "digits")).lower()
    val = float(c.pop("val_fraction", 0.2))
    seed = int(c.pop("seed", 0))
    allowed = {
        "digits": {"test_fraction"},
        "mnist1d": {"num_samples"},
        "folder": {"path", "size", "grayscale"},
        "npz": {"path"},
    }
    if name not in allowed:
        raise ValueError(f"data.name={name!r} is not a data source; use one of {sorted(_LOADERS)}.")
    unknown = set(c) - allowed[name]
    if unknown:
        raise ValueError(
            f"data: unknown key(s) {sorted(unknown)} for {name}; allowed: "
            f"{sorted(allowed[name] | {'name', 'val_fraction', 'seed'})}."
        )
    if name == "digits":
        return load_digits(val, seed, **c)
    if name == "mnist1d":
        return load_mnist1d(val, seed, **c)
    if "path" not in c:
        raise ValueError(f"data: {name} needs `path`.")
    if name == "folder":
        return load_image_folder(c.pop("path"), val_fraction=val, seed=seed, **c)
    return load_arrays(c["path"], val_fraction=val, seed=seed)
