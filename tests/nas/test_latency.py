"""The per-block latency table (slimtune.nas.latency): entries, the JSON file (round trip,
atomic merge), lazy fill, prediction = sum of entries + the fitted correction, the
``latency:`` config section and its use by the trial objective.

Measurements are replaced by deterministic functions of the block where a test checks
arithmetic; where real timings run, only their presence and sign are asserted."""

from __future__ import annotations

import json
import multiprocessing as mp

import pytest

pytest.importorskip("torch")

import slimtune as st  # noqa: E402
from slimtune.nas import latency as L  # noqa: E402
from slimtune.nas import selection  # noqa: E402, F401  (registers the pick rules)
from slimtune.nas.config import ConfigError, LatencySection, SearchConfig  # noqa: E402
from slimtune.nas.objective import NASObjective, TrialRecord  # noqa: E402
from slimtune.nas.space import ArchSpace  # noqa: E402

pytestmark = pytest.mark.nas


def _spec(c2=16, s=2, dropout=0.0, head=0):
    layers = [[1, "Conv", {"c2": 8, "k": 3, "s": 1}], [2, "DWSConv", {"c2": c2, "s": s}]]
    if head:
        layers.append([1, "Conv", {"c2": head, "k": 1}])
    layers.append([1, "Classify", {"dropout": dropout} if dropout else {}])
    return {"in_channels": 1, "num_classes": 10, "input_size": [8, 8], "layers": layers}


def _fake_block(self, entry):
    """A deterministic 'measurement': a function of the block's configuration."""
    return 0.001 * entry.c1 + 0.01 * entry.hw[0] + 0.1 * len(entry.args)


def _fake_model(self, spec):
    return 2.0 * sum(_fake_block(self, e) for e in L.block_entries(spec)) + 0.5


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(L.LatencyTable, "measure_block", _fake_block)
    monkeypatch.setattr(L.LatencyTable, "measure_model", _fake_model)


def _table(tmp_path, **kw):
    kw.setdefault("warmup", 0)
    kw.setdefault("repeats", 1)
    kw.setdefault("rounds", 1)
    return L.LatencyTable(tmp_path / "t.json", **kw)


def test_block_entries_carry_the_input_resolution_and_ignore_dropout():
    es = L.block_entries(_spec())
    assert [e.block for e in es] == ["Conv", "DWSConv", "DWSConv", "Classify"]
    assert [e.hw for e in es] == [(8, 8), (8, 8), (4, 4), (4, 4)]
    assert [e.c1 for e in es] == [1, 8, 16, 16]
    assert es[2].args["s"] == 1 and es[1].args["s"] == 2  # stride on the first repeat only
    assert len({e.key for e in es}) == 4
    assert [e.key for e in L.block_entries(_spec(dropout=0.2))] == [e.key for e in es]
    with pytest.raises(ValueError, match="input_size"):
        L.block_entries({k: v for k, v in _spec().items() if k != "input_size"})


def test_traced_resolutions_match_a_real_forward():
    from slimtune.nas.spec import build_model, check_shapes, load_spec

    spec = load_spec({
        "in_channels": 3, "num_classes": 5, "input_size": [11, 7], "channel_divisor": 1,
        "layers": [
            [1, "Conv", {"c2": 6, "k": 5, "s": 2}], [1, "MaxPool", {"k": 3, "s": 2}],
            [1, "Fire", {"c2": 8, "s": 2}], [1, "Ghost", {"c2": 6, "k": 3, "s": 2}],
            [1, "Bottleneck", {"c2": 12, "s": 2}], [1, "Classify", {}],
        ],
    })  # fmt: skip
    entries = spec.resolved()
    shapes = check_shapes(build_model(spec), entries, 3, (11, 7))
    want = [(11, 7)] + [s[2:] for s in shapes[:-1]]
    assert [e.hw for e in L.block_entries(spec)] == want
    assert [e.hw for e in L.block_entries(spec)] == want  # again, from the memo


def test_machine_key_names_threads_batch_and_device():
    k = L.machine_key(1, 1, "cpu")
    assert k.endswith(".json") is False and "-t1-b1-" in k
    assert L.machine_key(2, 1) != k and L.machine_key(1, 4) != k
    assert L.machine_info(3, 2)["threads"] == 3 and L.machine_info(3, 2)["batch"] == 2


def test_default_path_is_under_slimtune_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIMTUNE_CACHE", str(tmp_path))
    t = L.LatencyTable(threads=2)
    assert t.path == tmp_path / "latency" / f"{L.machine_key(2, 1, 'cpu')}.json"
    sec = LatencySection(cache=str(tmp_path / "c"), batch=2)
    assert L.table_for(sec).path == tmp_path / "c" / f"{L.machine_key(1, 2, 'cpu')}.json"


def test_round_trip_and_other_machines_tables_are_ignored(tmp_path, fake):
    t = _table(tmp_path)
    t.predict(_spec())
    t.add_calibration(_spec(c2=24))
    data = json.loads(t.path.read_text())
    assert data["version"] == L.TABLE_VERSION and data["machine"] == t.info
    back = _table(tmp_path)
    assert back.entries == t.entries and back.calibration == t.calibration
    assert len(back) == len(t) > 0
    data["machine"] = dict(data["machine"], processor="another CPU")
    t.path.write_text(json.dumps(data))
    assert len(_table(tmp_path)) == 0
    t.path.write_text("{not json")
    assert len(_table(tmp_path)) == 0  # a damaged file is rebuilt, never trusted


def test_lazy_fill_measures_each_block_configuration_once(tmp_path, fake):
    t = _table(tmp_path)
    assert t.fill(L.block_entries(_spec())) == 4 and t.measured_blocks == 4
    t.predict(_spec())
    assert t.measured_blocks == 4  # all known
    t.predict(_spec(head=32))  # one new block (the head conv); Classify sees new channels
    assert t.measured_blocks == 6
    other = _table(tmp_path)  # a second worker reads them from the file
    other.predict(_spec(head=32))
    assert other.measured_blocks == 0


def test_prediction_is_the_sum_of_entries_plus_the_fitted_correction(tmp_path, fake):
    t = _table(tmp_path, calibrate=2)
    spec = _spec()
    s = sum(_fake_block(t, e) for e in L.block_entries(spec))
    assert t.block_sum(spec) == pytest.approx(s)
    assert t.predict(spec) == pytest.approx(s)  # no calibration yet: offset 0
    ms, src = t.latency(_spec(c2=24))
    assert src == "measured" and ms == pytest.approx(_fake_model(t, _spec(c2=24)))
    t.latency(_spec(c2=32))
    # offset = median(measured - sum) over the two points; measured = 2 sum + 0.5
    sums = [t.block_sum(_spec(c2=c)) for c in (24, 32)]
    offset = sorted(x + 0.5 for x in sums)
    offset = (offset[0] + offset[1]) / 2
    assert t.coefficients() == pytest.approx((1.0, offset))
    ms, src = t.latency(spec)
    assert src == "table" and ms == pytest.approx(s + offset)
    lin = _table(tmp_path, correction="linear")
    lin.latency(_spec(c2=16, head=16))  # a third point (calibrate=5: still measuring)
    assert lin.coefficients() == pytest.approx((2.0, 0.5))  # exact on exact data
    assert lin.predict(spec) == pytest.approx(2 * s + 0.5)
    none = _table(tmp_path, correction="none")
    assert none.predict(spec) == pytest.approx(s)


def test_fit_correction():
    assert L.fit_correction([1, 2, 3], [1.5, 2.4, 3.6], "offset") == pytest.approx((1, 0.5))
    assert L.fit_correction([1, 2, 4], [3, 5, 9], "linear") == pytest.approx((2, 1))
    assert L.fit_correction([1, 2], [3, 5], "linear") == pytest.approx((1, 2.5))  # < 3 points
    assert L.fit_correction([1, 2, 3], [9, 9, 9], "none") == (1.0, 0.0)
    assert L.fit_correction([], [], "offset") == (1.0, 0.0)
    with pytest.raises(ValueError, match="correction"):
        L.fit_correction([1], [1], "quadratic")


def test_save_merges_and_the_first_value_wins(tmp_path, fake):
    a, b = _table(tmp_path), _table(tmp_path)
    a.predict(_spec())
    key = next(iter(a.entries))
    b.entries[key] = 123.0  # b measured the same block differently, before reading a's
    b.predict(_spec(c2=24))
    data = json.loads(a.path.read_text())["entries"]
    assert data[key] == a.entries[key] != 123.0 and b.entries[key] == a.entries[key]
    assert set(a.entries) < set(data)  # b's new entries merged in
    assert not list(tmp_path.glob("*.tmp"))


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, fake, monkeypatch):
    t = _table(tmp_path)
    t.predict(_spec())
    before = t.path.read_text()

    def broken(*a, **kw):
        raise OSError("disk full")

    monkeypatch.setattr(L.json, "dump", broken)
    with pytest.raises(OSError, match="disk full"):
        t.predict(_spec(c2=32))
    assert t.path.read_text() == before and not list(tmp_path.glob("*.tmp"))


def _worker(path, c2, n):
    t = L.LatencyTable(path, warmup=0, repeats=1, rounds=1)
    for i in range(n):
        t.predict(_spec(c2=c2, head=8 * (i + 1)))


def test_concurrent_workers_never_corrupt_the_table(tmp_path):
    path = tmp_path / "t.json"
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(path, c2, 4)) for c2 in (16, 24, 32)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    t = L.LatencyTable(path)
    keys = {e.key for c2 in (16, 24, 32) for i in range(4)
            for e in L.block_entries(_spec(c2=c2, head=8 * (i + 1)))}  # fmt: skip
    assert keys <= set(t.entries)  # every worker's entries survived the merges
    assert all(v > 0 for v in t.entries.values())


def test_latency_section_defaults_errors_and_resume_key():
    base = {"model": {"stages": [{"c2": 8}]}}
    cfg = SearchConfig.from_dict(base)
    assert cfg.latency == LatencySection() and cfg.latency.method == "table"
    for bad, msg in [
        ({"method": "guess"}, r"`latency.method`='guess': use one of \['table', 'measure'\]"),
        ({"threads": 0}, r"`latency.threads` must be an int >= 1, got 0"),
        ({"batch": "4"}, r"`latency.batch` must be an int >= 1"),
        ({"repeats": True}, r"`latency.repeats` must be an int >= 1"),
        ({"correction": "cubic"}, r"`latency.correction`='cubic'"),
        ({"device": "tpu"}, r"`latency.device`='tpu': use cpu or cuda"),
        ({"rounds": 2}, r"`latency`: unknown key\(s\) \['rounds'\]"),
    ]:
        with pytest.raises(ConfigError, match=msg):
            SearchConfig.from_dict(dict(base, latency=bad))
    with pytest.raises(ConfigError, match="`latency` must be a mapping"):
        SearchConfig.from_dict(dict(base, latency="table"))
    lat = dict(base, objectives=["accuracy", "latency"])
    key = SearchConfig.from_dict(lat).resume_key()
    assert "latency" not in key  # default settings: keys of earlier studies still match
    assert SearchConfig.from_dict(dict(lat, latency={"method": "measure"})).resume_key() == key
    k2 = SearchConfig.from_dict(dict(lat, latency={"threads": 2})).resume_key()
    assert k2["latency"] == {"threads": 2, "batch": 1, "device": "cpu"}
    macs = SearchConfig.from_dict(dict(base, latency={"threads": 2})).resume_key()
    assert "latency" not in macs  # latency unused: nothing it changes


CONFIG = {
    "study": {"seed": 0},
    "objectives": ["accuracy", "latency"],
    "constraints": {"max_macs": 1.0},  # nothing trains: the test is about latency
    "model": {
        "channel_divisor": 4,
        "stem": {"c2": [4, 8], "k": 3, "s": 1},
        "stages": [{"block": ["DWSConv", "Conv"], "c2": [8, 16], "s": 2}],
    },
    "train": {"lr": 0.01, "batch_size": 64},
    "fidelity": {"epochs": 1},
    "output": {"save_trial_weights": False},
}


def _run(cfg_dict, n):
    cfg = SearchConfig.from_dict(cfg_dict)
    arch = ArchSpace(cfg.model, cfg.train, 1, 10, (8, 8))
    study = st.create_study(directions=cfg.directions, sampler=st.samplers.RandomSampler(seed=1))
    study.optimize(NASObjective(cfg, None, arch, None), n_trials=n)
    return study


def test_objective_predicts_latency_from_the_table(tmp_path):
    lat = {"method": "table", "calibrate": 2, "warmup": 0, "repeats": 2, "cache": str(tmp_path)}
    study = _run(dict(CONFIG, latency=lat), 4)
    recs = [TrialRecord.of(t) for t in study.trials]
    assert [r.latency_source for r in recs] == ["measured", "measured", "table", "table"]
    assert all(r.latency_ms > 0 for r in recs)
    assert [t.values[1] for t in study.trials] == [r.latency_ms for r in recs]
    table = L.table_for(SearchConfig.from_dict(dict(CONFIG, latency=lat)).latency)
    assert table.path.parent == tmp_path and len(table.calibration) == 2
    spec = recs[3].spec
    assert table.predict(spec) == pytest.approx(recs[3].latency_ms)  # read back, same value


def test_a_relative_cache_is_under_the_config_directory(tmp_path):
    lat = {"calibrate": 0, "warmup": 0, "repeats": 1, "cache": "tables"}
    cfg = SearchConfig.from_dict(dict(CONFIG, latency=lat), base_dir=tmp_path)
    study = st.create_study(directions=cfg.directions, sampler=st.samplers.RandomSampler(seed=1))
    study.optimize(NASObjective(cfg, None, ArchSpace(cfg.model, cfg.train), None), n_trials=1)
    assert TrialRecord.of(study.trials[0]).latency_source == "table"
    assert len(list((tmp_path / "tables").glob("*.json"))) == 1


def test_objective_measures_when_asked(tmp_path):
    lat = {"method": "measure", "warmup": 0, "repeats": 2, "cache": str(tmp_path)}
    study = _run(dict(CONFIG, latency=lat), 2)
    recs = [TrialRecord.of(t) for t in study.trials]
    assert [r.latency_source for r in recs] == ["measured", "measured"]
    assert all(r.latency_ms > 0 for r in recs) and not list(tmp_path.iterdir())
