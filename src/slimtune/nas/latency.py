"""Latency without a measurement per trial: a per-block lookup table, built once per machine.

A model built from a spec (:mod:`slimtune.nas.spec`) is a sequence of blocks; its latency is
close to the sum of its blocks' latencies, each measured alone at its own input shape. The
:class:`LatencyTable` keeps one entry per block configuration (block type, input channels,
every resolved argument -- output channels, kernel, stride, expansion, SE, activation -- and
the input resolution) for one (machine, torch threads, batch size, device), in a JSON file
under the cache directory (``$SLIMTUNE_CACHE/latency/`` or ``~/.cache/slimtune/latency/``,
named by :func:`machine_key`). The table fills lazily: a block configuration not yet in it is
measured once (with :func:`slimtune.nas.profile.measure_latency`: warm-up, median of
repeats, fixed threads) and added. Every write is a merge under a file lock followed by an
atomic rename, so concurrent workers never corrupt the file (and the first value written
for an entry wins, so all workers predict the same).

Prediction = sum of the block entries, corrected by a fit on a few whole-model
measurements (``calibration``: the first ``calibrate`` models asked for through
:meth:`LatencyTable.latency` are measured whole, and kept in the table): ``offset`` adds the
median of (measured - sum), the per-call cost of the model wrapper and of running blocks
back to back; ``linear`` (the default) fits ``a * sum + b`` in relative error (``a > 1``:
blocks run in a whole model are slower than alone, e.g. colder caches; it falls back to
``offset`` below 3 points); ``none`` is the bare sum. ``benchmarks/nas_latency.py`` measures
the three against whole-model measurements (docs/bench/nas_latency.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from slimtune.nas.blocks import BLOCKS
from slimtune.nas.config import LATENCY_CORRECTIONS, LatencySection
from slimtune.nas.profile import measure_latency
from slimtune.nas.spec import ModelSpec, build_model, load_spec

__all__ = [
    "CORRECTIONS",
    "TABLE_VERSION",
    "BlockEntry",
    "LatencyTable",
    "block_entries",
    "default_cache_dir",
    "fit_correction",
    "machine_info",
    "machine_key",
    "table_for",
]

TABLE_VERSION = 1
"""Format of the table file (a file of another version is ignored and rebuilt)."""
CORRECTIONS = LATENCY_CORRECTIONS
"""How the sum of block entries is corrected by the whole-model calibration points."""
_IGNORED_ARGS = frozenset({"dropout"})  # no effect on inference: entries are shared


@dataclass(frozen=True)
class BlockEntry:
    """One module of a model as the table sees it: ``key`` (canonical JSON of block, input
    channels, input height/width and resolved arguments) and what is needed to measure it."""

    key: str
    block: str
    c1: int
    hw: tuple[int, int]
    args: dict[str, Any]


_OUT_HW: dict[str, tuple[int, int]] = {}
"""Output resolution of each block configuration seen (by entry key), so that a prediction
traces a block on the meta device only the first time this process meets it."""


def _out_hw(key: str, block: str, c1: int, hw: tuple[int, int], args: Mapping[str, Any]) -> Any:
    out = _OUT_HW.get(key)
    if out is None:
        with torch.device("meta"), torch.no_grad():
            y = BLOCKS[block](c1, **args).eval()(torch.empty(1, c1, *hw))
        out = (int(y.shape[2]), int(y.shape[3])) if y.dim() == 4 else (0, 0)
        _OUT_HW[key] = out
    return out


def block_entries(spec: ModelSpec | Mapping[str, Any] | str | Path) -> list[BlockEntry]:
    """The table entries of a spec, one per module, with each module's input resolution
    (traced on the meta device, once per block configuration and process: nothing is
    allocated). The spec needs ``input_size``."""
    spec = load_spec(spec)
    if spec.input_size is None:
        raise ValueError("a latency prediction needs the spec's `input_size`.")
    hw = (int(spec.input_size[0]), int(spec.input_size[1]))
    out = []
    for _i, block, args, c1 in spec.resolved():
        kept = {k: _plain(v) for k, v in sorted(args.items()) if k not in _IGNORED_ARGS}
        key = json.dumps([block, int(c1), list(hw), kept], sort_keys=True)
        out.append(BlockEntry(key, block, int(c1), hw, kept))
        hw = _out_hw(key, block, int(c1), hw, args)
    return out


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown-cpu"


def machine_info(threads: int = 1, batch: int = 1, device: str = "cpu") -> dict[str, Any]:
    """What a table's entries depend on: OS, architecture, CPU (or GPU) model, torch
    version, intra-op threads, batch size and device."""
    dev = str(device)
    proc = torch.cuda.get_device_name(dev) if dev.startswith("cuda") else _cpu_model()
    return {
        "system": platform.system(),
        "arch": platform.machine(),
        "processor": proc,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": int(threads),
        "batch": int(batch),
        "device": dev,
    }


def machine_key(threads: int = 1, batch: int = 1, device: str = "cpu") -> str:
    """The file name (without ``.json``) of this machine's table for these settings: a
    readable prefix and a hash of :func:`machine_info`."""
    info = machine_info(threads, batch, device)
    digest = hashlib.sha256(json.dumps(info, sort_keys=True).encode()).hexdigest()[:10]
    return f"{info['arch']}-{info['device'].replace(':', '')}-t{threads}-b{batch}-{digest}"


def default_cache_dir() -> Path:
    """``$SLIMTUNE_CACHE/latency``, else ``~/.cache/slimtune/latency``."""
    root = os.environ.get("SLIMTUNE_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "slimtune"
    return base / "latency"


def fit_correction(
    sums: Sequence[float], measured: Sequence[float], kind: str = "offset"
) -> tuple[float, float]:
    """``(scale, offset)`` so that ``scale * sum + offset`` predicts the measured whole-model
    latency: ``offset`` = median difference (scale 1), ``linear`` = least squares on
    relative error (falls back to ``offset`` with fewer than 3 points or a non-positive
    scale), ``none`` = (1, 0)."""
    if kind not in CORRECTIONS:
        raise ValueError(f"correction={kind!r}: use one of {list(CORRECTIONS)}.")
    s = np.asarray(sums, dtype=float)
    m = np.asarray(measured, dtype=float)
    if kind == "none" or s.size == 0:
        return 1.0, 0.0
    if kind == "linear" and s.size >= 3 and np.ptp(s) > 0:
        design = np.stack([s / m, 1.0 / m], axis=1)  # residual (a s + b - m) / m
        (a, b), *_ = np.linalg.lstsq(design, np.ones_like(m), rcond=None)
        if a > 0:
            return float(a), float(b)
    return 1.0, float(np.median(m - s))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path.lock`` for a read-merge-write (POSIX ``flock``; where
    there is none, the atomic rename alone keeps the file whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON to a temporary file next to ``path``, then rename it over ``path``: a
    reader sees the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class LatencyTable:
    """Per-block latency table of one (machine, threads, batch, device), stored as JSON.

    ``path`` defaults to ``default_cache_dir() / (machine_key(...) + ".json")``;
    ``warmup``/``repeats`` are those of :func:`measure_latency` for every measurement;
    ``calibrate`` whole-model measurements fit the ``correction``; a block entry is the
    smallest of ``rounds`` measurements (each the median of ``repeats``), taken in turn
    over all the blocks being added, so that a burst of load on a shared machine inflates
    one round, not the entry."""

    def __init__(
        self,
        path: str | Path | None = None,
        threads: int = 1,
        batch: int = 1,
        device: str = "cpu",
        warmup: int = 10,
        repeats: int = 30,
        calibrate: int = 5,
        correction: str = "linear",
        rounds: int = 3,
    ):
        for name, v, lo in (
            ("threads", threads, 1), ("batch", batch, 1), ("warmup", warmup, 0),
            ("repeats", repeats, 1), ("calibrate", calibrate, 0), ("rounds", rounds, 1),
        ):  # fmt: skip
            if not isinstance(v, int) or isinstance(v, bool) or v < lo:
                raise ValueError(f"LatencyTable: {name} must be an int >= {lo}, got {v!r}.")
        if correction not in CORRECTIONS:
            raise ValueError(f"LatencyTable: correction={correction!r}; use one of {CORRECTIONS}.")
        self.threads, self.batch, self.device = threads, batch, str(device)
        self.warmup, self.repeats = warmup, repeats
        self.calibrate, self.correction, self.rounds = calibrate, correction, rounds
        self.info = machine_info(threads, batch, self.device)
        self.path = (
            Path(path)
            if path is not None
            else default_cache_dir() / f"{machine_key(threads, batch, self.device)}.json"
        )
        self.entries: dict[str, float] = {}
        self.calibration: dict[str, dict[str, Any]] = {}
        self.measured_blocks = 0  # block measurements this object made (the rest were read)
        self.reload()

    # --- the file ---------------------------------------------------------------------
    def _read(self) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}, {}
        if (
            not isinstance(data, Mapping)
            or data.get("version") != TABLE_VERSION
            or data.get("machine") != self.info
        ):
            return {}, {}  # another format or another machine's table: rebuilt
        entries = {str(k): float(v) for k, v in dict(data.get("entries", {})).items()}
        return entries, dict(data.get("calibration", {}))

    def reload(self) -> None:
        """Merge what the file holds now (other workers' entries) into this table."""
        entries, calib = self._read()
        self.entries.update(entries)
        self.calibration.update(calib)

    def save(self) -> None:
        """Merge this table into the file under a lock and replace it atomically (the
        file's value of an entry wins, so every worker keeps the first one measured)."""
        with _locked(self.path):
            entries, calib = self._read()
            merged = {**self.entries, **entries}
            cal = {**self.calibration, **calib}
            _write_atomic(
                self.path,
                {"version": TABLE_VERSION, "machine": self.info, "entries": merged,
                 "calibration": cal},
            )  # fmt: skip
        self.entries, self.calibration = merged, cal

    # --- measuring --------------------------------------------------------------------
    def _shape(self, c: int, hw: tuple[int, int]) -> tuple[int, int, int, int]:
        return (self.batch, c, hw[0], hw[1])

    def measure_block(self, entry: BlockEntry) -> float:
        """Milliseconds of one forward pass of the block alone at its input shape."""
        module = BLOCKS[entry.block](entry.c1, **entry.args)
        return measure_latency(
            module, self._shape(entry.c1, entry.hw), self.threads, self.warmup, self.repeats,
            self.device,
        )  # fmt: skip

    def measure_model(self, spec: ModelSpec | Mapping[str, Any] | str | Path) -> float:
        """Milliseconds of one forward pass of the whole model, measured directly the way
        the entries are (the smallest of ``rounds`` medians of ``repeats``)."""
        spec = load_spec(spec)
        if spec.input_size is None:
            raise ValueError("a latency measurement needs the spec's `input_size`.")
        model = build_model(spec, check=False)
        shape = self._shape(spec.in_channels, spec.input_size)
        return min(
            measure_latency(model, shape, self.threads, self.warmup, self.repeats, self.device)
            for _ in range(self.rounds)
        )

    def fill(self, entries: Sequence[BlockEntry]) -> int:
        """Measure the entries not yet in the table (after reading the file again, in case
        another worker measured them) and save; returns how many were measured."""
        missing = {e.key: e for e in entries if e.key not in self.entries}
        if missing:
            self.reload()
            missing = {k: e for k, e in missing.items() if k not in self.entries}
        best = dict.fromkeys(missing, float("inf"))
        for _ in range(self.rounds):  # rounds spread over time: a load spike hits one
            for k, e in missing.items():
                best[k] = min(best[k], self.measure_block(e))
        self.entries.update(best)
        self.measured_blocks += len(best)
        if missing:
            self.save()
        return len(missing)

    # --- predicting -------------------------------------------------------------------
    def block_sum(self, spec: ModelSpec | Mapping[str, Any] | str | Path) -> float:
        """Sum of the spec's block entries in ms (missing entries measured and added)."""
        entries = block_entries(spec)
        self.fill(entries)
        return float(sum(self.entries[e.key] for e in entries))

    def coefficients(self) -> tuple[float, float]:
        """``(scale, offset)`` of the correction fitted on the calibration points."""
        sums, measured = [], []
        for point in self.calibration.values():
            keys = point["blocks"]
            if all(k in self.entries for k in keys):
                sums.append(sum(self.entries[k] for k in keys))
                measured.append(float(point["ms"]))
        return fit_correction(sums, measured, self.correction)

    def predict(self, spec: ModelSpec | Mapping[str, Any] | str | Path) -> float:
        """Predicted milliseconds: ``scale * sum of block entries + offset`` (never below
        the bare sum's smallest entry: a prediction stays positive)."""
        entries = block_entries(spec)
        self.fill(entries)
        s = float(sum(self.entries[e.key] for e in entries))
        a, b = self.coefficients()
        floor = min(self.entries[e.key] for e in entries)
        return max(a * s + b, floor)

    def add_calibration(self, spec: ModelSpec | Mapping[str, Any] | str | Path) -> float:
        """Measure the whole model, keep it as a calibration point, save; returns the
        measured milliseconds."""
        spec = load_spec(spec)
        entries = block_entries(spec)
        self.fill(entries)
        ms = self.measure_model(spec)
        keys = [e.key for e in entries]
        name = hashlib.sha256(json.dumps(keys).encode()).hexdigest()[:16]
        self.calibration[name] = {"blocks": keys, "ms": ms}
        self.save()
        return ms

    def latency(self, spec: ModelSpec | Mapping[str, Any] | str | Path) -> tuple[float, str]:
        """``(ms, source)`` for a search trial: while the table has fewer than
        ``calibrate`` calibration points the model is measured (``"measured"``, and the
        point is kept); afterwards it is predicted (``"table"``)."""
        if len(self.calibration) < self.calibrate:
            self.reload()
        if len(self.calibration) < self.calibrate:
            return self.add_calibration(spec), "measured"
        return self.predict(spec), "table"

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return (
            f"LatencyTable({str(self.path)!r}, entries={len(self.entries)}, "
            f"calibration={len(self.calibration)}, correction={self.correction!r})"
        )


def table_for(section: LatencySection) -> LatencyTable:
    """The table a search's ``latency:`` section describes (``cache`` a directory; the
    file in it named by :func:`machine_key`)."""
    path = None
    if section.cache is not None:
        key = machine_key(section.threads, section.batch, section.device)
        path = Path(section.cache).expanduser() / f"{key}.json"
    return LatencyTable(
        path,
        threads=section.threads,
        batch=section.batch,
        device=section.device,
        warmup=section.warmup,
        repeats=section.repeats,
        calibrate=section.calibrate,
        correction=section.correction,
    )
