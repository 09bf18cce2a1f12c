"""Heartbeats measured: how fast a dead worker's trial is failed, and how late a beat can be.

Two measurements on one SQLite file, with slimtune's default heartbeat (10 s / 30 s):

1. **Detection**: a worker process runs a long trial and is SIGKILLed; a second process
   keeps running short trials in the same study. Reported: seconds from the kill until the
   dead trial is FAIL (stored ``datetime_complete``), over ``--kills`` kills. The bound is
   the grace period minus the time since the last beat, plus one short trial.
2. **Beat latency under load**: ``--writers`` processes run trivial trials as fast as they
   can on the same file while each times ``record_heartbeat`` twice a second. Reported:
   median, 99th percentile and maximum of a beat's write time. A beat later than
   ``grace - interval`` (20 s) would let a live trial be failed; this shows the margin.

    python -m benchmarks.heartbeat --out docs/bench/heartbeat.md
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import slimtune as st
from slimtune.storage.heartbeat import DEFAULT_GRACE, DEFAULT_INTERVAL

VICTIM = textwrap.dedent("""
    import sys, time
    import slimtune as st
    study = st.load_study(study_name="hb", storage=sys.argv[1])
    def obj(trial):
        trial.suggest_float("x", 0, 1)
        trial.set_user_attr("victim", True)
        print("started", flush=True)
        time.sleep(600)
        return 0.0
    study.optimize(obj, n_trials=1)
""")

SURVIVOR = textwrap.dedent("""
    import sys, time
    import slimtune as st
    study = st.load_study(study_name="hb", storage=sys.argv[1])
    def obj(trial):
        time.sleep(0.2)
        return trial.suggest_float("x", 0, 1)
    deadline = time.time() + float(sys.argv[2])
    while time.time() < deadline:
        study.optimize(obj, n_trials=5)
        victims = [t for t in study.trials if t.user_attrs.get("victim")]
        if victims and all(t.state.is_finished() for t in victims):
            break
""")


def detection_time(tmp: Path, i: int, limit: float) -> float:
    url = f"sqlite:///{tmp}/detect{i}.db"
    st.create_study(storage=url, study_name="hb")
    victim = subprocess.Popen(
        [sys.executable, "-c", VICTIM, url], stdout=subprocess.PIPE, text=True
    )
    assert victim.stdout is not None and victim.stdout.readline().strip() == "started"
    # Kill at a different point of the beat cycle each time (0..interval after a beat).
    time.sleep((i * 3.7) % DEFAULT_INTERVAL)
    t_kill = time.time()
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    survivor = subprocess.run(
        [sys.executable, "-c", SURVIVOR, url, str(limit)], capture_output=True, text=True
    )
    if survivor.returncode != 0:
        raise RuntimeError(survivor.stderr[-2000:])
    t = next(t for t in st.load_study(study_name="hb", storage=url).trials if t.user_attrs)
    assert t.state == st.TrialState.FAIL, t
    return t.datetime_complete.timestamp() - t_kill


def _writer(url: str, seconds: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    import threading

    storage = st.SQLStorage(url)
    study = st.load_study(study_name="load", storage=storage)
    times: list[float] = []
    current: list[int] = []
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(0.5):
            if current:
                t0 = time.perf_counter()
                storage.record_heartbeat(current[-1])
                times.append(time.perf_counter() - t0)

    th = threading.Thread(target=beat, daemon=True)
    th.start()

    def obj(trial: st.Trial) -> float:
        current.append(trial.trial_id)
        return trial.suggest_float("x", 0, 1)

    deadline = time.time() + seconds
    while time.time() < deadline:
        study.optimize(obj, n_trials=10)
    stop.set()
    th.join()
    out.put(times)


def beat_latency(tmp: Path, writers: int, seconds: float) -> list[float]:
    url = f"sqlite:///{tmp}/load.db"
    st.create_study(storage=url, study_name="load")
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, seconds, q)) for _ in range(writers)]
    for p in procs:
        p.start()
    times: list[float] = []
    for _ in procs:
        times += q.get(timeout=seconds + 120)
    for p in procs:
        p.join(30)
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the load test")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        det = []
        for i in range(args.kills):
            det.append(detection_time(tmp, i, limit=3 * DEFAULT_GRACE))
            print(f"kill {i}: FAIL after {det[-1]:.1f} s", file=sys.stderr, flush=True)
        lat = sorted(beat_latency(tmp, args.writers, args.seconds))
    q99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    lines = [
        f"`python -m benchmarks.heartbeat --kills {args.kills} --writers {args.writers} "
        f"--seconds {args.seconds:g}`",
        "",
        f"Default heartbeat: interval {DEFAULT_INTERVAL:g} s, grace {DEFAULT_GRACE:g} s; SQLite.",
        "",
        "| measurement | value |",
        "|---|---:|",
        f"| a SIGKILLed worker's trial is FAIL after (s), {len(det)} kills: min / mean / max | "
        f"{min(det):.1f} / {statistics.mean(det):.1f} / {max(det):.1f} |",
        f"| beat write time under {args.writers} busy writers (ms), {len(lat)} beats: "
        f"median / p99 / max | {statistics.median(lat) * 1e3:.1f} / {q99 * 1e3:.1f} / "
        f"{lat[-1] * 1e3:.1f} |",
        f"| margin: slowest beat vs. the {DEFAULT_GRACE - DEFAULT_INTERVAL:g} s a beat may be late"
        f" | {(DEFAULT_GRACE - DEFAULT_INTERVAL) / max(lat[-1], 1e-9):.0f}x |",
    ]
    md = "\n".join(lines)
    print(md)
    if args.out:
        Path(args.out).write_text(md + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
