#!/bin/sh
# Executes notebooks headless with the project's tslab kernel, as CI does, and fails on any error:
# a cell that raises, or anything a cell writes to stderr. Each executed notebook and its HTML
# export (nbconvert --to html) are written to $NOTEBOOK_OUT (default .cache/notebooks/).
#
#   sh scripts/run-notebooks.sh                      # every notebook in notebooks/
#   sh scripts/run-notebooks.sh notebooks/00-*.ipynb # some of them
#
# SIMCLIP_QUICK defaults to 1 here (the short configuration); set SIMCLIP_QUICK=0 for full runs.
# NOTEBOOK_TIMEOUT is the per-cell limit in seconds (default 900); NOTEBOOK_JOBS notebooks run at once
# (default 2: kernels are mostly single-threaded while tslab type-checks); NOTEBOOK_BUILD=0 skips
# `npm run build` when dist/ is already current.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" != "--one" ]; then
  # Notebook paths are taken relative to where the runner was started, before moving to the root.
  for nb in "$@"; do
    shift
    set -- "$@" "$(cd "$(dirname "$nb")" && pwd)/$(basename "$nb")"
  done
fi
cd "$root"
out=${NOTEBOOK_OUT:-$root/.cache/notebooks}
export SIMCLIP_QUICK="${SIMCLIP_QUICK:-1}"
export JUPYTER_PATH="${SIMCLIP_JUPYTER_PREFIX:-$root/.jupyter}/share/jupyter"

# One notebook (the runner calls itself this way for each, NOTEBOOK_JOBS at a time).
if [ "${1:-}" = "--one" ]; then
  nb=$2
  name=$(basename "$nb" .ipynb)
  start=$(date +%s)
  if ! jupyter nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=tslab \
      --ExecutePreprocessor.timeout="${NOTEBOOK_TIMEOUT:-900}" --output-dir "$out" --output "$name" "$nb" 2>"$out/$name.log"; then
    tail -n 40 "$out/$name.log" >&2
    echo "FAILED (cell error): $nb" >&2
    exit 1
  fi
  # nbconvert stops on exceptions; anything a cell wrote to stderr is caught here.
  python=$(sed -n '1s/^#! *//p' "$(command -v jupyter)" | cut -d' ' -f1)
  if ! "$python" - "$out/$name.ipynb" <<'PY'
import json, sys
nb = json.load(open(sys.argv[1]))
bad = []
for i, cell in enumerate(nb["cells"]):
    for o in cell.get("outputs", []):
        if o["output_type"] == "error" or (o["output_type"] == "stream" and o.get("name") == "stderr"):
            text = o.get("text") or "\n".join(o.get("traceback", [])) or o.get("evalue", "")
            bad.append(f"cell {i}: {o['output_type']} {''.join(text)[:2000]}")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY
  then
    echo "FAILED (error output): $nb" >&2
    exit 1
  fi
  jupyter nbconvert --to html --output-dir "$out" --output "$name" "$out/$name.ipynb" 2>>"$out/$name.log"
  echo "ok in $(( $(date +%s) - start )) s: $nb -> $out/$name.ipynb, $out/$name.html"
  exit 0
fi

mkdir -p "$out"
# Notebooks import "simclip", i.e. dist/ with its .d.ts files (tslab type-checks every cell).
if [ "${NOTEBOOK_BUILD:-1}" != 0 ]; then npm run --silent build; fi
sh scripts/install-kernel.sh >/dev/null

if [ "$#" -eq 0 ]; then set -- notebooks/*.ipynb; fi
printf '%s\n' "$@" | xargs -P "${NOTEBOOK_JOBS:-2}" -I{} sh "$root/scripts/run-notebooks.sh" --one {}
