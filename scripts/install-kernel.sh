#!/bin/sh
# `npm run kernel:install`: registers the tslab kernel with a project-local Jupyter data directory
# (.jupyter/share/jupyter), so nothing outside the project changes. Jupyter finds it through
# JUPYTER_PATH (see docs/notebooks.md).
#
# The kernel spec is written by tslab's own installer, which needs the Python that runs Jupyter:
# JUPYTER_PYTHON if set, otherwise the interpreter named on the first line of the `jupyter` script on
# PATH (Debian's jupyter -> /usr/bin/python3; a pip or conda Jupyter -> that environment's Python).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${SIMCLIP_JUPYTER_PREFIX:-$root/.jupyter}

python=${JUPYTER_PYTHON:-}
if [ -z "$python" ]; then
  jupyter=$(command -v jupyter || true)
  if [ -z "$jupyter" ]; then
    echo "kernel:install: no 'jupyter' on PATH. Install Jupyter (Debian: apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient; or pip install notebook nbconvert) or set JUPYTER_PYTHON to a Python that has jupyter_client." >&2
    exit 1
  fi
  python=$(sed -n '1s/^#! *//p' "$jupyter" | cut -d' ' -f1)
fi

"$root/node_modules/.bin/tslab" install --python="$python" --binary="$root/kernels/tslab-simclip" --prefix="$prefix"

# tslab type-checks cells with TypeScript's Node10 module resolution, which cannot resolve a package
# importing itself by name; this link lets notebooks in this checkout `import ... from "simclip"`
# (a project that installs simclip from npm has it in node_modules already).
ln -sfn .. "$root/node_modules/simclip"
echo "tslab kernel installed under $prefix/share/jupyter/kernels; run Jupyter with JUPYTER_PATH=$prefix/share/jupyter"
