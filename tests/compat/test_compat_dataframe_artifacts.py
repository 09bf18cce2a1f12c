"""Study.trials_dataframe (Optuna's columns) and slimtune.artifacts."""

from __future__ import annotations

import io
import os

import pytest

import slimtune as st
from slimtune import artifacts

pd = pytest.importorskip("pandas")


def _study() -> st.Study:
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))

    def objective(trial: st.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        trial.set_user_attr("u", 1)
        trial.report(x, 0)
        trial.report(x, 3)
        if trial.number == 2:
            trial.suggest_int("y", 0, 3)
        if trial.number == 1:
            raise st.TrialPruned()
        return x

    study.optimize(objective, n_trials=3)
    return study


def test_trials_dataframe_has_optuna_s_columns() -> None:
    study = _study()
    df = study.trials_dataframe()
    assert list(df.columns) == [
        "number", "value", "datetime_start", "datetime_complete", "duration",
        "params_x", "params_y", "user_attrs_u", "state",
    ]
    assert list(df["state"]) == ["COMPLETE", "PRUNED", "COMPLETE"]
    assert list(df["number"]) == [0, 1, 2]
    assert df["value"].tolist() == [t.values[0] for t in study.trials]
    assert pd.isna(df["params_y"][0]) and df["params_y"][2] == study.trials[2].params["y"]
    assert str(df["duration"].dtype).startswith("timedelta64")


def test_trials_dataframe_multi_index_and_intermediate_values() -> None:
    df = _study().trials_dataframe(
        attrs=("number", "value", "params", "intermediate_values", "state"), multi_index=True
    )
    assert list(df.columns) == [
        ("number", ""), ("value", ""), ("params", "x"), ("params", "y"),
        ("intermediate_values", 0), ("intermediate_values", 3), ("state", ""),
    ]
    flat = _study().trials_dataframe(attrs=("number", "intermediate_values"))
    assert list(flat.columns) == ["number", "intermediate_values_0", "intermediate_values_3"]


def test_trials_dataframe_several_objectives_and_empty_and_bad_attrs() -> None:
    study = st.create_study(directions=["minimize", "maximize"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=2)
    df = study.trials_dataframe()
    assert list(df.columns)[:3] == ["number", "values_0", "values_1"]
    assert df["values_1"].tolist() == [1.0, 1.0]
    mi = study.trials_dataframe(multi_index=True)
    assert ("values", 0) in mi.columns and ("values", 1) in mi.columns
    assert st.create_study().trials_dataframe().empty
    with pytest.raises(ValueError, match="unknown attrs"):
        study.trials_dataframe(attrs=("number", "nope"))


# --- artifacts -----------------------------------------------------------------------------
def test_upload_download_and_list_artifacts(tmp_path) -> None:
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    store = artifacts.FileSystemArtifactStore(store_dir)
    src = tmp_path / "model.txt"
    src.write_text("weights")
    study = st.create_study()
    trial = study.ask()
    aid = artifacts.upload_artifact(artifact_store=store, file_path=str(src),
                                    study_or_trial=trial)
    study.tell(trial, 1.0)
    sid = artifacts.upload_artifact(artifact_store=store, file_path=str(src),
                                    study_or_trial=study, mimetype="text/x-weights")
    frozen = study.trials[0]
    metas = artifacts.get_all_artifact_meta(frozen, storage=study.storage)
    assert metas == [artifacts.ArtifactMeta(aid, "model.txt", "text/plain", None)]
    assert artifacts.get_all_artifact_meta(study)[0].mimetype == "text/x-weights"
    assert artifacts.get_all_artifact_meta(study)[0].artifact_id == sid
    out = tmp_path / "back.txt"
    artifacts.download_artifact(artifact_store=store, file_path=str(out), artifact_id=aid)
    assert out.read_text() == "weights"
    with pytest.raises(FileExistsError, match="exists"):
        artifacts.download_artifact(artifact_store=store, file_path=str(out), artifact_id=aid)
    with pytest.raises(ValueError, match="storage=study.storage"):
        artifacts.get_all_artifact_meta(frozen)
    store.remove(aid)
    with pytest.raises(artifacts.ArtifactNotFound):
        store.open_reader(aid)
    with pytest.raises(ValueError, match="not a valid artifact id"):
        store.open_reader("../x")
    assert sorted(os.listdir(store_dir)) == [sid]  # no temporary files left


def test_artifact_store_needs_a_directory_and_cloud_stores_are_not_provided(tmp_path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        artifacts.FileSystemArtifactStore(tmp_path / "missing")
    with pytest.raises(NotImplementedError, match="FileSystemArtifactStore"):
        artifacts.Boto3ArtifactStore("bucket")


class _Flaky:
    """A store whose first two writes fail (a network file system hiccup)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.fails = 2

    def write(self, artifact_id: str, content_body: io.BufferedIOBase) -> None:
        body = content_body.read()
        if self.fails:
            self.fails -= 1
            raise OSError("transient")
        self.data[artifact_id] = body

    def open_reader(self, artifact_id: str) -> io.BytesIO:
        if artifact_id not in self.data:
            raise artifacts.ArtifactNotFound(artifact_id)
        return io.BytesIO(self.data[artifact_id])

    def remove(self, artifact_id: str) -> None:
        del self.data[artifact_id]


def test_backoff_retries_with_the_whole_body() -> None:
    flaky = _Flaky()
    store = artifacts.Backoff(flaky, max_retries=3, min_delay=0.0, max_delay=0.0)
    store.write("a", io.BytesIO(b"abc"))
    assert flaky.data == {"a": b"abc"}
    with pytest.raises(artifacts.ArtifactNotFound):
        store.open_reader("b")  # an answer, not retried
    flaky.fails = 5
    with pytest.raises(OSError, match="transient"):
        artifacts.Backoff(flaky, max_retries=1, min_delay=0.0, max_delay=0.0).write(
            "c", io.BytesIO(b"x"))
