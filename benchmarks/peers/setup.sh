#!/usr/bin/env bash
# Peer virtual environments for benchmarks/mf_peers.py, one per peer (their pins conflict:
# yahpo-gym wants an old ConfigSpace, smac a new one), under benchmarks/.venvs/<peer>.
# Usage: bash benchmarks/peers/setup.sh [peer ...]   (default: all; pip from PyPI only)
# A peer that fails to install is reported and skipped; mf_peers.py skips its methods.
set -u
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
ROOT=benchmarks/.venvs
mkdir -p "$ROOT"
declare -A PKGS=(
  [dehb]="dehb"
  [smac]="smac"
  [synetune]="syne-tune[gpsearchers,kde]==0.13.0"
  [yahpo]="yahpo-gym onnxruntime"
)
peers=("$@")
[ ${#peers[@]} -eq 0 ] && peers=(yahpo dehb synetune smac)
status=0
for p in "${peers[@]}"; do
  v="$ROOT/$p"
  if [ -f "$v/.installed" ]; then echo "$p: already installed"; continue; fi
  test -x "$v/bin/python" || "$PY" -m venv "$v"
  "$v/bin/python" -m pip install -q --upgrade pip >/dev/null
  # shellcheck disable=SC2086
  if "$v/bin/python" -m pip install -q ${PKGS[$p]} > "$v/pip.log" 2>&1; then
    touch "$v/.installed"; echo "$p: installed (${PKGS[$p]})"
  else
    echo "$p: FAILED to install ${PKGS[$p]}; the last lines of $v/pip.log:"; tail -5 "$v/pip.log"
    status=1
  fi
done
exit $status
