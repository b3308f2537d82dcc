#!/usr/bin/env bash
# Gather what a bare GPU image lacks to run initbench and its GPU check without a network:
# Python 3.12 manylinux wheels (snakemake and its dependencies, jsonschema, mnist1d, weasyprint,
# pyyaml, tqdm) and Debian's Fashion-MNIST files.
#
#   make gpu-carry                # -> .gpu-carry/wheels, .gpu-carry/fashion-mnist (git-ignored)
#   bash tools/gpu-carry.sh DIR
#
# A session lent a GPU ships the folder with the device tool (`carry: [".gpu-carry"]`); the
# `setup` step of `make gpu-check` installs the wheels with `pip install --no-index --no-deps
# --target .gpu-carry/site` and copies the data to /usr/share/datasets/fashion-mnist.
# Left out, since such an image has them (notes: gpu-h200.md) or the check does not need them:
# torch and its CUDA libraries, numpy, pandas, pyarrow, scipy, matplotlib and seaborn with their
# dependencies, jinja2, pytest; pulp (Snakemake's ILP scheduler; the check runs --scheduler greedy).
# Versions are those of this checkout's environment where it has the package (pip freeze).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-.gpu-carry}
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && PY=.venv/bin/python
PYVER=${GPU_PYTHON:-3.12}
WANT=(snakemake==9.27.1 jsonschema mnist1d==0.0.2.post1 weasyprint pyyaml tqdm)
HAVE='^(torch|torchvision|triton|nvidia-.*|cuda-.*|numpy|pandas|pyarrow|scipy|matplotlib|seaborn|contourpy|cycler|fonttools|kiwisolver|pillow|pyparsing|python-dateutil|pytz|tzdata|six|jinja2|markupsafe|pytest|pluggy|iniconfig|pulp|sympy|mpmath|networkx|filelock|fsspec|setuptools)$'

mkdir -p "$DEST/wheels"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PY" -m pip freeze 2>/dev/null | grep -E '^[A-Za-z0-9_.-]+==' >"$work/constraints.txt" || true

# connection_pool (a snakemake dependency) publishes only a source archive: build its wheel here.
"$PY" -m pip wheel -q --no-deps --wheel-dir "$DEST/wheels" \
    "connection_pool$(grep -i '^connection.pool==' "$work/constraints.txt" | sed 's/^[^=]*//' || true)"

"$PY" -m pip download -q --dest "$work/all" --find-links "$DEST/wheels" --constraint "$work/constraints.txt" \
    --only-binary=:all: --python-version "$PYVER" --implementation cp \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    "${WANT[@]}"

for whl in "$work"/all/*.whl; do
    name=$(basename "$whl" | cut -d- -f1 | tr 'A-Z_.' 'a-z--')
    if [[ $name =~ $HAVE ]]; then
        echo "left out (the image has it): $(basename "$whl")"
    else
        cp -n "$whl" "$DEST/wheels/"
    fi
done

# Debian's Fashion-MNIST (dataset-fashion-mnist): installed here, else the package's files.
mkdir -p "$DEST/fashion-mnist"
if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    cp /usr/share/datasets/fashion-mnist/*.gz "$DEST/fashion-mnist/"
else
    (cd "$work" && apt-get download dataset-fashion-mnist && dpkg-deb -x dataset-fashion-mnist_*.deb deb)
    cp "$work"/deb/usr/share/datasets/fashion-mnist/*.gz "$DEST/fashion-mnist/"
fi

echo "$(find "$DEST/wheels" -name '*.whl' | wc -l) wheels, $(du -sh "$DEST/wheels" | cut -f1); Fashion-MNIST $(du -sh "$DEST/fashion-mnist" | cut -f1); in all $(du -sh "$DEST" | cut -f1) in $DEST"
