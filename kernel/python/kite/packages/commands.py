"""`%pip` in kite's wasm build: install, list, uninstall (pip's options that make sense here)."""

import argparse
import sys

from . import installer
from .errors import PackageError


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise PackageError("%%pip %s: %s" % (self.prog, message))


def _install_parser():
    p = _Parser(prog="install", add_help=False)
    p.add_argument("-U", "--upgrade", action="store_true")
    p.add_argument("--no-deps", action="store_true")
    p.add_argument("--pre", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-i", "--index-url")
    p.add_argument("--extra-index-url", action="append", default=[])
    p.add_argument("-r", "--requirement", action="append", default=[])
    p.add_argument("requirements", nargs="*")
    return p


def _read_requirements(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith(("#", "-")):
                out.append(line)
    return out


def install(argv):
    opts = _install_parser().parse_args(argv)
    reqs = list(opts.requirements)
    for path in opts.requirement:
        reqs += _read_requirements(path)
    if not reqs:
        raise PackageError("%pip install: give at least one requirement (e.g. %pip install attrs)")
    urls = None
    if opts.index_url or opts.extra_index_url:
        main = [opts.index_url] if opts.index_url else [u for u in installer.default_index_urls()]
        urls = main + opts.extra_index_url
    installer.install_wasm(reqs, urls, upgrade=opts.upgrade, no_deps=opts.no_deps, pre=opts.pre,
                           quiet=opts.quiet)


def list_(argv):
    rows = installer.list_installed()
    width = max([len("Package")] + [len(n) for n, _ in rows])
    vwidth = max([len("Version")] + [len(v) for _, v in rows])
    print("%-*s %s" % (width, "Package", "Version"))
    print("%s %s" % ("-" * width, "-" * vwidth))
    for name, version in rows:
        print("%-*s %s" % (width, name, version))


def uninstall(argv):
    names = [a for a in argv if a not in ("-y", "--yes")]
    bad = [a for a in names if a.startswith("-")]
    if bad:
        raise PackageError("%%pip uninstall: unsupported option %s" % bad[0])
    if not names:
        raise PackageError("%pip uninstall: give the names to remove")
    installer.uninstall_wasm(names)


COMMANDS = {"install": install, "list": list_, "uninstall": uninstall}


def run(argv):
    if not argv or argv[0] not in COMMANDS:
        raise PackageError("%%pip %s: kite supports %%pip install, list and uninstall"
                           % (argv[0] if argv else ""))
    COMMANDS[argv[0]](argv[1:])
    sys.stdout.flush()
