#!/bin/sh
# `npm run notebooks:outputs`: regenerates the outputs committed with the notebooks. Each notebook is
# executed in full mode (SIMCLIP_QUICK=0) on the configuration in effect (nothing set: the demo
# backbone and the synthetic benchmark, as committed), one after the other, by run-notebooks.sh
# (so it fails on any cell error or stderr output), then scripts/notebook-outputs.py replaces its
# plotly figures by PNGs and writes it over notebooks/<name>.ipynb. A notebook that fails leaves its
# committed copy as it was; the others are still written.
#
#   sh scripts/notebook-outputs.sh                        # every notebook
#   sh scripts/notebook-outputs.sh notebooks/table2-*.ipynb
#
# NOTEBOOK_TIMEOUT (per cell, default 7200 s here: a full Table 1 or Table 4 trains for tens of
# minutes on two cores) and CHROMIUM as for run-notebooks.sh and the tests.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
for nb in "$@"; do
  shift
  set -- "$@" "$(cd "$(dirname "$nb")" && pwd)/$(basename "$nb")"
done
cd "$root"
if [ "$#" -eq 0 ]; then set -- "$root"/notebooks/*.ipynb; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python=$(sed -n '1s/^#! *//p' "$(command -v jupyter)" | cut -d' ' -f1)

npm run --silent build || exit 1
failed=0
for nb in "$@"; do
  name=$(basename "$nb" .ipynb)
  start=$(date +%s)
  if SIMCLIP_QUICK=0 NOTEBOOK_OUT="$work" NOTEBOOK_BUILD=0 NOTEBOOK_JOBS=1 NOTEBOOK_TIMEOUT="${NOTEBOOK_TIMEOUT:-7200}" \
      sh scripts/run-notebooks.sh "$nb" && "$python" scripts/notebook-outputs.py "$work/$name.ipynb" "$nb"; then
    echo "outputs of $name regenerated in $(( $(date +%s) - start )) s"
  else
    echo "FAILED: $name after $(( $(date +%s) - start )) s; notebooks/$name.ipynb left as it was" >&2
    failed=1
  fi
done
exit "$failed"
