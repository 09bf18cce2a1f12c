"""Every user mistake is one line naming the problem and the fix, exit code 2, and no
traceback unless --debug (issue 11, must-have 3: each case of its list)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import yaml

import slimtune as st
from slimtune.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nas_digits.yaml"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what the fixtures printed
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line(rc: int, err: str, *words: str) -> str:
    """rc 2, one ``error:`` line on stderr, no traceback; the line names ``words``."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path}/ok.db"
    study = st.create_study(storage=url, study_name="demo")
    study.enqueue_trial({"x": 0.5})
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    return url


def test_unreachable_postgres_is_one_line(capsys):
    pytest.importorskip("psycopg")
    rc, _, err = run(capsys, "studies", "--storage", "postgresql://nobody@127.0.0.1:1/x")
    assert_one_line(rc, err, "postgresql://nobody@127.0.0.1:1/x", "sqlite:///path.db")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("notaurl", ["not a database URL", "sqlite:///path.db", "postgresql://user@host/db"]),
        ("foo://bar", ["unknown database kind 'foo'", "sqlite:///path.db"]),
        ("postgres://u@h/db", ["postgresql://"]),
        ("sqlite://x.db", ["three slashes"]),
    ],
)
def test_malformed_storage_urls(capsys, url, words):
    rc, _, err = run(capsys, "studies", "--storage", url)
    assert_one_line(rc, err, *words)


def test_storage_that_is_not_a_database(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("some.yaml").write_text("study: {name: x}\n")
    rc, _, err = run(capsys, "trials", "--storage", "sqlite:///some.yaml")
    assert_one_line(rc, err, "'some.yaml' is not an SQLite database", "sqlite:///path.db")
    assert Path("some.yaml").read_text() == "study: {name: x}\n"  # left untouched


def test_missing_database_file_is_not_created(capsys, tmp_path):
    path = tmp_path / "missing.db"
    rc, _, err = run(capsys, "studies", "--storage", f"sqlite:///{path}")
    assert_one_line(rc, err, "no database at", "check the path")
    assert not path.exists()


def test_corrupted_database(capsys, tmp_path, db):
    path = Path(db[len("sqlite:///") :])
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for extra in (".db-wal", ".db-shm"):
        Path(str(path)[: -len(".db")] + extra).unlink(missing_ok=True)
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 2 * page and data[:16] == b"SQLite format 3\x00"
    rng = np.random.default_rng(0)
    data[page:] = rng.integers(0, 256, len(data) - page, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    rc, _, err = run(capsys, "trials", "--storage", db)
    assert_one_line(rc, err, "corrupted", "backup")


def test_unknown_study_names_the_studies_there(capsys, db):
    rc, _, err = run(capsys, "trials", "--storage", db, "--study", "nope")
    assert_one_line(rc, err, "no study named 'nope'", "demo", "--study-name")
    rc, _, err = run(capsys, "best", "--storage", db, "--study", "nope")
    assert_one_line(rc, err, "no study named 'nope'")
    rc, _, err = run(capsys, "delete", "--storage", db, "--study", "nope")
    assert_one_line(rc, err, "no study named 'nope'")


@pytest.mark.parametrize(
    "argv",
    [
        ["worker", "--study", "w", "--objective", "o.py:f", "--n-trials", "-1"],
        ["worker", "--study", "w", "--objective", "o.py:f", "--timeout", "0"],
        ["worker", "--study", "w", "--objective", "o.py:f", "--n-jobs", "two"],
        ["trials", "--limit", "-3"],
        ["trials", "--format", "xml"],
        ["nosuchcommand"],
    ],
)
def test_bad_numbers_and_arguments_are_one_line(capsys, argv):
    rc, _, err = run(capsys, *argv)
    line = assert_one_line(rc, err)
    assert "--help" in line and "usage:" not in err


def test_bad_state_and_column_names(capsys, db):
    rc, _, err = run(capsys, "trials", "--storage", db, "--state", "done")
    assert_one_line(rc, err, "--state DONE", "COMPLETE")
    rc, _, err = run(capsys, "trials", "--storage", db, "--columns", "number,bogus")
    assert_one_line(rc, err, "'bogus'", "params_x")


def test_debug_shows_the_traceback_before_and_after_the_command(capsys, tmp_path):
    url = f"sqlite:///{tmp_path}/missing.db"
    for argv in (
        ["--debug", "studies", "--storage", url],
        ["studies", "--storage", url, "--debug"],
    ):
        rc, _, err = run(capsys, *argv)
        assert rc == 2 and "Traceback" in err and err.strip().splitlines()[-1].startswith("error:")


def test_worker_objective_spec_mistakes(capsys, tmp_path):
    url = f"sqlite:///{tmp_path}/w.db"
    rc, _, err = run(
        capsys, "worker", "--storage", url, "--study", "w", "--objective", "nofile.py:f"
    )
    assert_one_line(rc, err, "no file 'nofile.py'")
    rc, _, err = run(capsys, "worker", "--storage", url, "--study", "w", "--objective", "nocolon")
    assert_one_line(rc, err, "module:function")
    (tmp_path / "o.py").write_text("def f(trial):\n    return 1.0\n")
    spec = f"{tmp_path / 'o.py'}:g"
    rc, _, err = run(capsys, "worker", "--storage", url, "--study", "w", "--objective", spec)
    assert_one_line(rc, err, "no function 'g'")
    rc, _, err = run(
        capsys, "worker", "--storage", url, "--study", "w", "--objective",
        f"{tmp_path / 'o.py'}:f", "--sampler", "NoSampler",
    )  # fmt: skip
    assert_one_line(rc, err, "--sampler 'NoSampler'", "TPESampler")


# --- slimtune search: config, data and storage mistakes (the nas extra) ----------------


@pytest.fixture
def nas(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    shutil.copy(EXAMPLE, "nas_digits.yaml")
    return tmp_path


def _config(**changes) -> str:
    cfg = yaml.safe_load(EXAMPLE.read_text())
    cfg.update(changes)
    Path("c.yaml").write_text(yaml.safe_dump(cfg))
    return "c.yaml"


def test_search_storage_in_a_missing_directory(capsys, nas):
    rc, _, err = run(
        capsys, "search", "nas_digits.yaml", "--storage", "sqlite:////nonexistent/dir/x.db"
    )
    assert_one_line(rc, err, "'/nonexistent/dir' does not exist", "mkdir")


def test_search_missing_npz_data_path(capsys, nas):
    cfg = _config(data={"name": "npz", "path": "missing/x.npz"})
    rc, _, err = run(capsys, "search", cfg, "--storage", "sqlite:///s.db")
    assert_one_line(rc, err, "data.path 'missing/x.npz' does not exist")
    assert not Path("s.db").exists()


def test_search_negative_trials(capsys, nas):
    rc, _, err = run(capsys, "search", "nas_digits.yaml", "--n-trials", "-1")
    assert_one_line(rc, err, "--n-trials", "'-1'", ">= 1")


def test_search_negative_channel_count(capsys, nas):
    cfg = yaml.safe_load(EXAMPLE.read_text())
    cfg["model"]["stages"][0]["c2"] = [8, -16, 24]
    Path("neg.yaml").write_text(yaml.safe_dump(cfg))
    rc, _, err = run(capsys, "search", "neg.yaml", "--storage", "sqlite:///s.db")
    assert_one_line(rc, err, "model.stages[0].c2", "-16", "channel count", ">= 1")
    assert not Path("s.db").exists()


def test_search_missing_config_and_bad_yaml(capsys, nas):
    rc, _, err = run(capsys, "search", "missing.yaml")
    assert_one_line(rc, err, "'missing.yaml' not found", "examples/nas_digits.yaml")
    Path("bad.yaml").write_text("study: {name: x\nmodel: [\n")
    rc, _, err = run(capsys, "search", "bad.yaml")
    assert_one_line(rc, err, "bad.yaml line 2", "invalid YAML")
    Path("typo.yaml").write_text(EXAMPLE.read_text().replace("objectives:", "objective:"))
    rc, _, err = run(capsys, "search", "typo.yaml")
    assert_one_line(rc, err, "typo.yaml", "objective")


def test_search_unreachable_postgres(capsys, nas):
    pytest.importorskip("psycopg")
    rc, _, err = run(
        capsys, "search", "nas_digits.yaml", "--storage", "postgresql://nobody@127.0.0.1:1/x"
    )
    assert_one_line(rc, err, "postgresql://nobody@127.0.0.1:1/x")


def test_export_mistakes(capsys, nas, db):
    rc, _, err = run(capsys, "export", "missing.yaml")
    assert_one_line(rc, err, "'missing.yaml' not found")
    rc, _, err = run(capsys, "export")
    assert_one_line(rc, err, "--storage")
    rc, _, err = run(capsys, "export", "--storage", db, "--study-name", "zzz")
    assert_one_line(rc, err, "no study named 'zzz'", "demo")


def test_passwords_are_not_printed(capsys):
    from slimtune.cli_common import redact

    assert redact("postgresql://u:secret@h:5/db") == "postgresql://u:***@h:5/db"
    assert redact("sqlite:///a.db") == "sqlite:///a.db"
    pytest.importorskip("psycopg")
    rc, _, err = run(capsys, "studies", "--storage", "postgresql://u:secret@127.0.0.1:1/x")
    assert "secret" not in assert_one_line(rc, err, "u:***@127.0.0.1:1")


def test_worker_direction_mismatch_and_report_out_dir(capsys, tmp_path, db):
    (tmp_path / "o.py").write_text("def f(trial):\n    return trial.suggest_float('x', 0, 1)\n")
    spec = f"{tmp_path / 'o.py'}:f"
    rc, _, err = run(
        capsys, "worker", "--storage", db, "--study", "demo", "--objective", spec,
        "--direction", "maximize",
    )  # fmt: skip
    assert_one_line(rc, err, "already exists with directions minimize", "--study-name")
    out = tmp_path / "no" / "dir" / "r.html"
    rc, _, err = run(capsys, "report", "--storage", db, "--out", str(out))
    assert_one_line(rc, err, "does not exist", "create it")
