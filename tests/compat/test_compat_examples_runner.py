"""The Optuna-examples runner swaps imports and nothing else, and reads errors and results
back; one tiny example runs end to end (no optuna needed for the slimtune side)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root: `benchmarks`

from benchmarks.optuna_examples import first_error, missing_deps, run_one, swap_imports  # noqa: E402


def test_swap_imports_changes_only_the_imports() -> None:
    src = (
        "import optuna\n"
        "import optuna.visualization\n"
        "import optuna.integration.lightgbm as lgb\n"
        "from optuna.trial import TrialState\n"
        "from optuna import distributions\n"
        "    import optuna  # indented\n"
        "x = 'import optuna'  # a string stays\n"
        "optuna.create_study()\n"
    )
    assert swap_imports(src) == (
        "import slimtune as optuna\n"
        "import slimtune.visualization; import slimtune as optuna\n"
        "import slimtune.integration.lightgbm as lgb\n"
        "from slimtune.trial import TrialState\n"
        "from slimtune import distributions\n"
        "    import slimtune as optuna\n"
        "x = 'import optuna'  # a string stays\n"
        "optuna.create_study()\n"
    )


def test_first_error_finds_the_exception_line() -> None:
    tb = "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad x\n"
    assert first_error(tb) == "ValueError: bad x"
    assert first_error("Traceback\nModuleNotFoundError: \nCould not find y.\n") == (
        "ModuleNotFoundError: Could not find y.")


def test_an_example_runs_with_slimtune_and_reports_its_best(tmp_path: Path) -> None:
    ex = tmp_path / "basic" / "tiny.py"
    ex.parent.mkdir()
    ex.write_text(
        "import optuna\n"
        "from optuna.trial import TrialState\n"
        "if __name__ == '__main__':\n"
        "    s = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))\n"
        "    s.optimize(lambda t: (t.suggest_float('x', -1, 1) - 0.5) ** 2, n_trials=5)\n"
        "    assert all(t.state == TrialState.COMPLETE for t in s.trials)\n"
    )
    assert missing_deps(ex) == []
    run = run_one(ex, tmp_path, "slimtune", timeout=120)
    assert run.status == "ok", run.error
    assert run.studies[0]["n_trials"] == 5 and 0 <= run.best < 2.25
    ex.write_text("import optuna\nraise KeyError('nope')\n")
    bad = run_one(ex, tmp_path, "slimtune", timeout=120)
    assert bad.status == "fail" and bad.error == "KeyError: 'nope'"
