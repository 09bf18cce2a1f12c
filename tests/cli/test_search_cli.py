"""`slimtune search` end to end through main(): the library's per-trial lines without the
progress display's duplicates, the table at the width, exit 0 (-q: tests/test_cli.py)."""

from __future__ import annotations

import pytest
import yaml

from slimtune.cli import main

pytest.importorskip("torch")

CONFIG = {
    "study": {"name": "tiny", "n_trials": 2, "seed": 0},
    "data": {"name": "digits", "val_fraction": 0.3},
    "objectives": ["accuracy", "macs"],
    "model": {
        "channel_divisor": 4,
        "resolution": 8,
        "stem": {"c2": [4, 8], "k": 3, "s": 1},
        "stages": [{"block": ["DWSConv", "Conv"], "c2": [8, 16], "s": 2}],
    },
    "train": {"optimizer": "adam", "lr": 0.01, "batch_size": 64},
    "fidelity": {"epochs": 1, "subset": 0.2},
    "output": {"plot": False, "export": []},
}


def test_search_logs_each_trial_once(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "100")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(CONFIG))
    argv = ["search", "c.yaml", "--storage", "sqlite:///s.db", "--out", "out", "--no-progress"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "Trial 0 finished" in err and "Trial 1 finished" in err
    assert "trial 0 COMPLETE" not in err  # the progress display's own line is DEBUG now
    assert "Pareto front" in out and "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 100
