"""Datasets for the search, all offline: scikit-learn digits, MNIST-1D (generated with
``mnist1d.make_dataset``, never downloaded), a folder of images in ImageFolder layout
(read with Pillow, or ``.npy`` files, no torchvision) and NumPy arrays.

Every loader returns a :class:`Dataset`: images as ``float32`` arrays ``(N, C, H, W)``
standardised with the training statistics, integer labels, and a stratified
train / validation (/ test) split.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# the one stratified subset of slimtune (re-exported here: it was once a nas-local copy)
from slimtune.fidelity import stratified_subset

__all__ = ["Dataset", "load_data", "make_image_folder", "stratified_subset"]

logger = logging.getLogger("slimtune.nas")

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
    size: tuple[int, int] | int | None = 32,
    grayscale: bool | str = "auto",
    val_fraction: float = 0.2,
    seed: int = 0,
    test_fraction: float = 0.0,
) -> Dataset:
    """``root/<class>/<image>`` files, one folder per class (sorted names = labels; hidden
    folders such as ``.ipynb_checkpoints`` are not classes).

    Images are read with Pillow (png, jpg, bmp, gif, tif, webp; ``.npy`` files holding
    ``(H, W)`` or ``(H, W, C)`` arrays work without Pillow) and resized to ``size`` (an int,
    ``(H, W)``, or None to keep the files' own size, which must then be the same for all).
    ``grayscale="auto"`` keeps one channel when every image has one (mode ``L``, a 2-D
    array), else RGB (alpha dropped); ``True``/``False`` force it. ``test_fraction`` holds
    out a stratified test split before the validation split. A wrong path, an empty class
    folder, an unreadable file or mixed sizes with ``size=None`` raise a one-line
    ``ValueError`` naming the place and the fix."""
    root = Path(root)
    where = f"image folder {str(root)!r}"
    if not root.is_dir():
        raise ValueError(f"{where} does not exist or is not a directory; check data.path.")
    if grayscale not in (True, False, "auto"):
        raise ValueError(f"data.grayscale={grayscale!r}: use true, false or auto.")
    hw = _check_size(size)
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(subdirs) < 2:
        loose = sum(1 for f in root.iterdir() if f.is_file() and _is_image(f))
        hint = (
            f" ({loose} images lie directly in it: move them into one sub-folder per class)"
            if loose
            else ""
        )
        raise ValueError(
            f"{where}: need >= 2 class sub-folders (root/<class>/<image>), got "
            f"{[p.name for p in subdirs]}{hint}."
        )
    files: list[tuple[Path, int]] = []
    skipped = 0
    for label, d in enumerate(subdirs):
        imgs = [f for f in sorted(d.iterdir()) if f.is_file() and _is_image(f)]
        skipped += sum(1 for f in d.iterdir() if f.is_file() and not _is_image(f))
        if len(imgs) < 2:
            raise ValueError(
                f"{where}: class folder {d.name!r} has {len(imgs)} image(s) "
                f"({', '.join(_IMAGE_EXT)} or .npy); a class needs >= 2 (training and "
                "validation): add images or remove the folder."
            )
        files += [(f, label) for f in imgs]
    if skipped:
        logger.warning("%s: %d file(s) that are not images were ignored", where, skipped)
    # each file is resized as it is read (large photos never sit in memory at full size)
    raw = [_read_any(f, hw) for f, _ in files]
    if grayscale == "auto":
        gray = all(a.shape[2] == 1 for a in raw)
    else:
        gray = bool(grayscale)
    if hw is None:
        sizes = {a.shape[:2] for a in raw}
        if len(sizes) > 1:
            (s1, f1), (s2, f2) = _two_sizes(raw, [f for f, _ in files])
            raise ValueError(
                f"{where}: images have different sizes ({f1.name} is {s1[0]}x{s1[1]}, "
                f"{f2.name} is {s2[0]}x{s2[1]}); set data.size (e.g. 32) to resize them."
            )
        hw = next(iter(sizes))
    xs = [_to_chw(a, gray, hw) for a in raw]
    x = np.stack(xs)
    y = np.array([label for _, label in files])
    xt = yt = None
    if test_fraction:
        x, y, xt, yt = _split(x, y, float(test_fraction), seed + 1)
    classes = tuple(p.name for p in subdirs)
    return _finish(x, y, classes, root.name, val_fraction, seed, xt, yt)


def _check_size(size: Any) -> tuple[int, int] | None:
    """``size`` as ``(H, W)`` (None: the files' own size); a bad value is a ValueError."""
    if size is None:
        return None
    vals = [size, size] if isinstance(size, (int, np.integer)) else list(size)
    ok = len(vals) == 2 and all(isinstance(v, (int, np.integer)) and v >= 1 for v in vals)
    if isinstance(size, bool) or not ok:
        raise ValueError(f"data.size={size!r}: use an int (e.g. 32), [H, W], or null.")
    return int(vals[0]), int(vals[1])


def _is_image(f: Path) -> bool:
    return f.suffix.lower() in _IMAGE_EXT or f.suffix.lower() == ".npy"


def _two_sizes(raw: list[np.ndarray], paths: list[Path]) -> list[tuple[Any, Path]]:
    """The first two files of different sizes (for the error message)."""
    first = raw[0].shape[:2]
    other = next(i for i, a in enumerate(raw) if a.shape[:2] != first)
    return [(first, paths[0]), (raw[other].shape[:2], paths[other])]


def _read_any(f: Path, hw: tuple[int, int] | None) -> np.ndarray:
    """An ``(H, W, C)`` float32 array in [0, 1] (C = 1 or 3) of one image or ``.npy`` file,
    resized to ``hw`` (None: its own size); an unreadable file is a ValueError naming it."""
    if f.suffix.lower() == ".npy":
        try:
            a = np.load(f)
        except (OSError, ValueError) as e:
            raise ValueError(f"cannot read {str(f)!r} ({e}); fix or remove the file.") from None
        if a.ndim == 2:
            a = a[:, :, None]
        if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
            raise ValueError(
                f"{str(f)!r}: a .npy image must be (H, W) or (H, W, C) with C in 1, 3, 4; "
                f"got shape {a.shape}."
            )
        scale = 255.0 if a.dtype == np.uint8 else 1.0
        a = (a[:, :, :3] / scale).astype(np.float32)
        return a if hw is None or a.shape[:2] == hw else _resize(a, hw)
    return _read_image(f, hw)


def _read_image(path: Path, hw: tuple[int, int] | None) -> np.ndarray:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"reading {path.name} needs Pillow: pip install slimtune[nas] (or store the "
            "images as .npy)."
        ) from e
    try:
        with Image.open(path) as im:
            if im.mode.startswith(("I", "F")):  # 16-bit or float grayscale: keep the depth
                a = np.asarray(im, dtype=np.float32)
                a = a / 65535.0 if im.mode.startswith("I") else a
                a = a[:, :, None]
                return a if hw is None or a.shape[:2] == hw else _resize(a, hw)
            gray = im.mode in ("1", "L", "LA")
            mode = "L" if gray else "RGB"
            if hw is not None:
                im.draft(mode, (hw[1], hw[0]))  # JPEG: decode at a reduced scale (fast)
            im = im.convert(mode)
            if hw is not None and im.size != (hw[1], hw[0]):
                im = im.resize((hw[1], hw[0]), Image.BILINEAR)
            a = np.asarray(im, dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise ValueError(
            f"cannot read image {str(path)!r} ({str(e).splitlines()[0]}); fix or remove it."
        ) from None
    return a[:, :, None] if a.ndim == 2 else a


def _to_chw(a: np.ndarray, gray: bool, hw: tuple[int, int]) -> np.ndarray:
    """``(H, W, C)`` to ``(C, H, W)`` with 1 (``gray``) or 3 channels at size ``hw``
    (already that size when read with a ``size``)."""
    if gray and a.shape[2] > 1:
        a = a @ np.array([0.299, 0.587, 0.114], dtype=np.float32)[: a.shape[2], None]
    elif not gray and a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    if a.shape[:2] != hw:
        a = _resize(a, hw)
    return np.ascontiguousarray(a.transpose(2, 0, 1))


def _resize(a: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of an ``(H, W, C)`` float array (Pillow per channel when present,
    else nearest neighbour)."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - depends on the environment
        return _resize_array(a, hw)
    chans = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(a[:, :, c])).resize((hw[1], hw[0]), Image.BILINEAR)
        )
        for c in range(a.shape[2])
    ]
    return np.stack(chans, axis=2).astype(np.float32)


def _resize_array(a: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an ``(H, W, C)`` array (vectorised indexing)."""
    h, w = a.shape[:2]
    if (h, w) == hw:
        return a
    ri = (np.arange(hw[0]) * h // hw[0]).astype(int)
    ci = (np.arange(hw[1]) * w // hw[1]).astype(int)
    return a[ri][:, ci]


def make_image_folder(
    root: str | Path,
    n_classes: int = 3,
    per_class: int = 20,
    size: int = 32,
    seed: int = 0,
    fmt: str = "png",
) -> Path:
    """Write a small synthetic ImageFolder ``root/class_<k>/<i>.<fmt>`` of RGB images to try
    the folder data source (and to test it): class ``k`` is a colour tint plus stripes at
    its own angle, with a random phase, a brightness jitter and noise, so a small CNN
    learns it in a few epochs. ``fmt`` is ``png``, ``jpg`` or ``npy`` (no Pillow needed)."""
    if fmt not in ("png", "jpg", "npy"):
        raise ValueError(f"fmt={fmt!r}: use png, jpg or npy.")
    if n_classes < 2 or per_class < 2 or size < 4:
        raise ValueError(
            f"need n_classes >= 2, per_class >= 2, size >= 4; got {n_classes}, {per_class}, "
            f"{size}."
        )
    rng = np.random.default_rng(seed)
    root = Path(root)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for k in range(n_classes):
        d = root / f"class_{k}"
        d.mkdir(parents=True, exist_ok=True)
        angle = np.pi * k / n_classes
        tint = np.full(3, 0.25, dtype=np.float32)
        tint[k % 3] = 0.75
        proj = np.cos(angle) * xx + np.sin(angle) * yy
        for i in range(per_class):
            phase = rng.uniform(0, 2 * np.pi)
            stripes = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * proj + phase)
            img = tint[None, None, :] * (0.6 + 0.4 * stripes[:, :, None])
            img = img * rng.uniform(0.8, 1.2) + rng.normal(0, 0.05, img.shape)
            u8 = (np.clip(img, 0, 1) * 255).astype(np.uint8)
            if fmt == "npy":
                np.save(d / f"{i:03d}.npy", u8)
                continue
            from PIL import Image

            Image.fromarray(u8).save(d / f"{i:03d}.{fmt}")
    return root


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
    ``{name: folder, path: DIR, size: 32, grayscale: auto, test_fraction: 0.0}``,
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
        "folder": {"path", "size", "grayscale", "test_fraction"},
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
