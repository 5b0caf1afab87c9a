"""Lay out kite as an emscripten-forge-style prefix, the input of `jupyter lite build
--XeusAddon.prefix=<prefix>` (jupyterlite-xeus) and what recipe/recipe.yaml installs.

Usage: python3 make_prefix.py DIST_DIR PREFIX [--version V] [--build B] [--files-only]

DIST_DIR is the wasm build (build/wasm/dist: kite.js, kite.wasm, kite-stdlib.zip, worker.js).
PREFIX is replaced (`make prefix`), or with --files-only only kite's files are added to it and no
conda-meta is written (rattler-build's install step in recipe/build.sh: the package manager
writes the records). What jupyterlite-xeus 5.1 and @jupyterlite/xeus 5.1 read from it:
- share/jupyter/kernels/kite-xeus/kernel.json, argv[0] = the absolute <PREFIX>/bin/kite-xeus:
  the add-on copies <argv[0]>.js and .wasm into the site. The name is not `xpython`, which the
  extension special-cases (it would start xeus-python's own Python).
- bin/kite-xeus.js: kite.js + worker.js (as a library) + wasm/xeus/kite-xeus.js (createXeusModule,
  the xeus-lite entry); bin/kite-xeus.wasm: kite.wasm.
- conda-meta/history (the add-on fails without it; its `# cmd:` line names the channels a
  runtime `%conda install` would use) and one conda-meta/<name>-<version>-<build>.json record per
  package, whose `files` empack packs into one tarball per package; the worker unpacks them into
  the kernel's file system at start. kite's stdlib travels this way, as
  lib/python311.zip (a zipimport archive of .pyc, the one kite's own site serves; empack's default
  filter drops loose .pyc files, and a zip is what CPython's default sys.path already names).
- the `emscripten-abi` record: the extension reads the Emscripten major version from its version
  (below 4 it loads shared libraries the old way and may construct xkernel without argv).
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
KERNEL_NAME = "kite-xeus"
CHANNELS = ["https://repo.prefix.dev/emscripten-forge-dev", "https://repo.prefix.dev/conda-forge"]
SUBDIR = "emscripten-wasm32"


def emscripten_version():
    """The Emscripten that built kite.wasm (Debian's emcc; 3.1.6 on this project's machines)."""
    try:
        out = subprocess.run(["emcc", "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"make_prefix: cannot run emcc --version ({e})")
    found = re.search(r"\) (\d+\.\d+\.\d+)", out.split("\n")[0])
    if not found:
        sys.exit(f"make_prefix: cannot read the Emscripten version from {out.splitlines()[0]!r}")
    return found.group(1)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def record(prefix, name, version, build, files, depends, channel="local"):
    """A conda-meta package record (the fields empack and mambajs read)."""
    meta = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": 0,
        "channel": channel,
        "subdir": SUBDIR,
        "depends": depends,
        "fn": f"{name}-{version}-{build}.tar.bz2",
        "url": None,
        "files": sorted(files),
        "paths_data": {
            "paths_version": 1,
            "paths": [
                {"_path": f, "path_type": "hardlink", "sha256": sha256(prefix / f), "size_in_bytes": (prefix / f).stat().st_size}
                for f in sorted(files)
            ],
        },
    }
    (prefix / "conda-meta" / f"{name}-{version}-{build}.json").write_text(json.dumps(meta, indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dist")
    ap.add_argument("prefix")
    ap.add_argument("--version", default=json.loads((ROOT / "wasm/jupyterlite/package.json").read_text())["version"])
    ap.add_argument("--build", default="kite_0")
    ap.add_argument("--files-only", action="store_true", help="add kite's files to PREFIX, no conda-meta")
    args = ap.parse_args()
    dist = Path(args.dist).resolve()
    prefix = Path(args.prefix).resolve()
    for f in ("kite.js", "kite.wasm", "kite-stdlib.zip", "worker.js"):
        if not (dist / f).is_file():
            sys.exit(f"make_prefix: missing {dist / f} (build the wasm kernel first: make wasm)")

    tmp = prefix.with_name(prefix.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for d in ("bin", "lib", f"share/jupyter/kernels/{KERNEL_NAME}", "conda-meta"):
        (tmp / d).mkdir(parents=True, exist_ok=True)

    # bin/: the module and its xeus-lite entry in one classic script (the xeus worker
    # importScripts exactly one file)
    parts = [
        "// kite for @jupyterlite/xeus: kite.js, worker.js (library), kite-xeus.js; built by wasm/prefix/make_prefix.py\n"
        "self.kiteWorkerLibrary = true;\n",
        (dist / "kite.js").read_text(),
        (dist / "worker.js").read_text(),
        (ROOT / "wasm/xeus/kite-xeus.js").read_text(),
    ]
    (tmp / "bin" / f"{KERNEL_NAME}.js").write_text("\n".join(parts))
    shutil.copyfile(dist / "kite.wasm", tmp / "bin" / f"{KERNEL_NAME}.wasm")
    shutil.copyfile(dist / "kite-stdlib.zip", tmp / "lib" / "python311.zip")

    spec_dir = tmp / "share/jupyter/kernels" / KERNEL_NAME
    spec = {
        # argv[0]: the prefix's absolute path, as conda writes it at install time
        "argv": [str(prefix / "bin" / KERNEL_NAME)],
        "display_name": "Python 3.11 (kite, xeus)",
        "language": "python",
        "interrupt_mode": "message",
        "metadata": {
            "debugger": False,
            # what kite's JupyterLite extension recognises (wasm/jupyterlite/src/xeus.ts)
            "kite": {"host": "xeus-lite", "runtime": "CPython 3.11 compiled to WebAssembly", "protocol": 1},
        },
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    for logo in ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg"):
        shutil.copyfile(ROOT / "share/jupyter/kernels/kite-node" / logo, spec_dir / logo)

    files = [str(p.relative_to(tmp)) for p in sorted(tmp.rglob("*")) if p.is_file() and "conda-meta" not in p.parts]
    if args.files_only:
        shutil.rmtree(tmp / "conda-meta")
        shutil.copytree(tmp, prefix, dirs_exist_ok=True)
        shutil.rmtree(tmp)
        print(f"[kite-prefix] {len(files)} files of kite {args.version} into {prefix}")
        return
    emver = emscripten_version()
    record(tmp, "kite", args.version, args.build, files, [f"emscripten-abi =={emver}"])
    record(tmp, "emscripten-abi", emver, "0", [], [])
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    channels = " ".join(f"-c {c}" for c in CHANNELS)
    (tmp / "conda-meta" / "history").write_text(
        f"==> {stamp} <==\n"
        f"# cmd: wasm/prefix/make_prefix.py {channels} --platform {SUBDIR} kite\n"
        f"+local::emscripten-abi-{emver}-0\n"
        f"+local::kite-{args.version}-{args.build}\n"
        f"# update specs: [\"kite\"]\n"
    )
    shutil.rmtree(prefix, ignore_errors=True)
    os.replace(tmp, prefix)
    size = sum(p.stat().st_size for p in prefix.rglob("*") if p.is_file())
    print(f"[kite-prefix] {prefix} ({size / 1e6:.1f} MB): kernel {KERNEL_NAME}, kite {args.version}, emscripten-abi {emver}")


if __name__ == "__main__":
    main()
