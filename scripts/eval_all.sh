#!/usr/bin/env bash
# Regenerate every number of docs/EVAL.md: each `egx eval` run of that page, then one summary table.
#   scripts/eval_all.sh [DATA=../shared/data] [OUT=egx-eval]      (about a minute on 2 cores)
set -euo pipefail
DATA=${1:-../shared/data}
OUT=${2:-egx-eval}
run() { echo "+ egx eval $*" >&2; egx eval "$@" --data "$DATA" --split both --quiet > /dev/null; }
run hrsid --out "$OUT/hrsid" --gallery 2
run hrsid-largest --out "$OUT/hrsid-largest"
run hrsid --task referring --out "$OUT/hrsid-referring"
run hit-uav --out "$OUT/hit-uav" --gallery 2
run hit-uav --task referring --out "$OUT/hit-uav-referring" --gallery 2
run sirst --out "$OUT/sirst" --gallery 2
run sen1floods11-sar --out "$OUT/sen1floods11-sar" --gallery 1
run sen1floods11-optical --out "$OUT/sen1floods11-optical" --gallery 1
run deepforest --out "$OUT/deepforest" --gallery 1
run deepforest --iou 0.3 --out "$OUT/deepforest-iou0.3"
run deepforest --task referring --out "$OUT/deepforest-referring"
python -m egx_notebook.eval.report "$OUT"
