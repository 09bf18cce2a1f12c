#!/usr/bin/env bash
# GPU check of the image-folder search (issue 15): run examples/nas_imagefolder.yaml on a
# generated folder of 32x32 RGB images with train.device: auto, about a minute with one
# worker process and half a minute with two (forked workers, each opening CUDA itself), and
# assert that every trained trial and the model card say the model was trained on cuda, and
# that the exports were written (they and the latency are made on the CPU).
#
#   scripts/gpu_check.sh                    # on a machine with a GPU, from the repository root
#   EXPECT_DEVICE=cpu SECONDS_1=10 SECONDS_2=8 scripts/gpu_check.sh   # a dry run on a CPU
#
# Environment: PYTHON (default .venv/bin/python, else python3), SECONDS_1 / SECONDS_2 (search
# seconds of the 1- and 2-worker runs, default 60 / 30), EXPECT_DEVICE (default cuda),
# KEEP (a directory to keep the outputs in; default a temporary one, removed).
# Exit code 0: all checks passed; 1: a check failed (the line says which).
set -euo pipefail

cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [[ -z "$PY" ]]; then
    if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
EXPECT=${EXPECT_DEVICE:-cuda}
S1=${SECONDS_1:-60}
S2=${SECONDS_2:-30}
if [[ -n "${KEEP:-}" ]]; then
    WORK=$KEEP
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

"$PY" - "$EXPECT" <<'EOF'
import sys
import torch
expect = sys.argv[1]
print(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}", flush=True)
if expect == "cuda":
    if not torch.cuda.is_available():
        sys.exit("FAIL: EXPECT_DEVICE=cuda but torch.cuda.is_available() is False")
    print(f"GPU: {torch.cuda.get_device_name(0)}", flush=True)
EOF

"$PY" -c "from slimtune.nas.data import make_image_folder; \
make_image_folder('$WORK/images', n_classes=4, per_class=150, size=32, seed=0)"

run() {  # run N_JOBS SECONDS NAME
    local jobs=$1 secs=$2 name=$3
    "$PY" - "$WORK" "$jobs" "$secs" "$name" <<'EOF'
import sys
import yaml
work, jobs, secs, name = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
cfg = yaml.safe_load(open("examples/nas_imagefolder.yaml"))
cfg["study"].update(name=name, storage=f"sqlite:///{work}/{name}.db", n_trials=None,
                    timeout=secs, n_jobs=jobs)
cfg["data"]["path"] = f"{work}/images"
cfg["train"]["device"] = "auto"       # the path under test: CUDA when present
cfg["retrain"] = {"top_k": 1, "epochs": 5}
cfg["output"]["dir"] = f"{work}/{name}"
open(f"{work}/{name}.yaml", "w").write(yaml.safe_dump(cfg, sort_keys=False))
EOF
    local t0=$SECONDS
    "$PY" -m slimtune.cli search "$WORK/$name.yaml" --no-progress -q
    echo "$name: $((SECONDS - t0)) s wall-clock"
    "$PY" - "$WORK" "$name" "$EXPECT" <<'EOF'
import sys
from pathlib import Path
import slimtune as st
work, name, expect = sys.argv[1:4]
out = Path(work) / name
study = st.load_study(study_name=name, storage=f"sqlite:///{work}/{name}.db")
trained = [t for t in study.trials if "epochs" in t.user_attrs]
devices = sorted({str(t.user_attrs.get("device")) for t in trained})
print(f"{name}: {len(study.trials)} trials, {len(trained)} trained to the end on {devices}")
fail = []
if not trained:
    fail.append("no trial was trained to the end")
if any(not str(t.user_attrs.get("device")).startswith(expect) for t in trained):
    fail.append(f"trained trials on {devices}, expected {expect}")
card = (out / "model_card.md").read_text() if (out / "model_card.md").is_file() else ""
if f"trained on {expect}" not in card:
    fail.append(f"model_card.md does not say 'trained on {expect}'")
for f in ("model.yaml", "model.pt", "model.torchscript.pt", "model.onnx", "pareto.csv"):
    if not (out / f).is_file():
        fail.append(f"{f} missing")
if fail:
    sys.exit(f"FAIL ({name}): " + "; ".join(fail))
EOF
}

run 1 "$S1" gpu_check_1
run 2 "$S2" gpu_check_2
echo "OK: the image-folder search trained on $EXPECT with 1 and 2 workers; exports on the CPU."
