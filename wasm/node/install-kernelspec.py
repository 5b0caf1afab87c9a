#!/usr/bin/env python3
"""Installs the kite-node kernelspec, filled in with absolute paths, into PREFIX/kernels/kite-node.

    python3 wasm/node/install-kernelspec.py --dist build/wasm/dist --prefix build/share/jupyter

Then `JUPYTER_PATH=build/share/jupyter jupyter kernelspec list` shows `kite-node`.
Standard library only (CMake calls it with the system python3).
"""
import argparse
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TEMPLATE = os.path.join(ROOT, "share", "jupyter", "kernels", "kite-node")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dist", required=True, help="the wasm bundle (build/wasm/dist)")
    ap.add_argument("--prefix", required=True, help="a Jupyter data dir (build/share/jupyter)")
    ap.add_argument("--name", default="kite-node")
    args = ap.parse_args()
    dist = os.path.abspath(args.dist)
    dest = os.path.join(os.path.abspath(args.prefix), "kernels", args.name)
    with open(os.path.join(TEMPLATE, "kernel.json"), encoding="utf-8") as f:
        spec = json.load(f)
    fill = {"@KITE_NODE_MJS@": os.path.join(HERE, "kite-node.mjs"), "@KITE_DIST@": dist}
    spec["argv"] = [fill.get(a, a) for a in spec["argv"]]
    os.makedirs(dest, exist_ok=True)
    for name in os.listdir(TEMPLATE):
        if name != "kernel.json":
            shutil.copyfile(os.path.join(TEMPLATE, name), os.path.join(dest, name))
    tmp = os.path.join(dest, "kernel.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=2)
        f.write("\n")
    os.replace(tmp, os.path.join(dest, "kernel.json"))
    print(f"installed kernelspec {args.name} in {dest}", file=sys.stderr)


if __name__ == "__main__":
    main()
