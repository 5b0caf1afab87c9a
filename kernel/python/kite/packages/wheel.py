"""Installing wheels into a site-packages directory, all or nothing: every wheel is unpacked into
a staging directory first; only then are the top-level entries moved into place (os.replace),
and if anything fails or is interrupted while moving, what was moved is moved back. Each
distribution gets INSTALLER = kite and a RECORD of what was written."""

import base64
import hashlib
import io
import os
import shutil
import tempfile
import zipfile

from .errors import PackageError

INSTALLER = "kite"


def _record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _safe_member(name):
    parts = name.replace("\\", "/").split("/")
    return not (name.startswith("/") or ".." in parts or (parts and ":" in parts[0]))


def unpack(data, filename, dest, extensions=None):
    """Unpacks a wheel's bytes into dest (a staging dir) with INSTALLER and a new RECORD.
    .data/purelib and platlib go to the top level; other .data schemes are skipped (no scripts
    in a kernel). Returns the top-level names written; appends the relative paths of extension
    modules (*.so) to `extensions`."""
    records = []
    written = set()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        dist_info = None
        for info in z.infolist():
            name = info.filename
            if info.is_dir():
                continue
            if not _safe_member(name):
                raise PackageError("%s contains an unsafe path %r" % (filename, name))
            target = name
            top = name.split("/", 1)[0]
            if top.endswith(".data"):
                parts = name.split("/", 2)
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    continue
                target = parts[2]
            if top.endswith(".dist-info") and name.count("/") == 1:
                dist_info = top
                if name.endswith("/RECORD"):
                    continue
            content = z.read(info)
            path = os.path.join(dest, *target.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(content)
            records.append((target, _record_hash(content), len(content)))
            written.add(target.split("/", 1)[0])
            if extensions is not None and target.endswith(".so"):
                extensions.append(target)
    if dist_info is None:
        raise PackageError("%s has no .dist-info directory: not a valid wheel" % filename)
    installer = (INSTALLER + "\n").encode()
    with open(os.path.join(dest, dist_info, "INSTALLER"), "wb") as f:
        f.write(installer)
    records.append((dist_info + "/INSTALLER", _record_hash(installer), len(installer)))
    lines = ["%s,%s,%d" % r for r in records] + [dist_info + "/RECORD,,"]
    with open(os.path.join(dest, dist_info, "RECORD"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return written


def install_all(wheels, site_packages, remove_first=()):
    """wheels: [(filename, bytes)]. Stages all, then moves them into site_packages; on any
    failure (or KeyboardInterrupt) while moving, restores the previous state.
    remove_first: the RECORD-listed files of distributions being replaced (upgrades).
    Returns the paths of the extension modules (*.so) installed."""
    os.makedirs(site_packages, exist_ok=True)
    stage = tempfile.mkdtemp(prefix=".kite-stage-", dir=site_packages)
    trash = os.path.join(stage, ".replaced")
    moved, removed, extensions = [], [], []
    try:
        tops = set()
        for filename, data in wheels:
            tops |= unpack(data, filename, stage, extensions)
        os.makedirs(trash)
        for path in remove_first:
            if os.path.lexists(path):
                keep = os.path.join(trash, str(len(removed)))
                os.replace(path, keep)
                removed.append((path, keep))
        for top in sorted(tops):
            _merge(os.path.join(stage, top), os.path.join(site_packages, top), moved)
    except BaseException:
        for src, dst, created_dir in reversed(moved):
            if created_dir:
                shutil.rmtree(dst, ignore_errors=True)
            elif os.path.lexists(dst):
                os.replace(dst, src)
        for path, keep in reversed(removed):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.replace(keep, path)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return [os.path.join(site_packages, *rel.split("/")) for rel in extensions]


def _merge(src, dst, moved):
    """Moves src to dst; a directory that exists (a namespace package, a shared top-level dir)
    is merged file by file. Records (src, dst, created_dir) for the rollback."""
    if os.path.isdir(src) and os.path.isdir(dst):
        for name in sorted(os.listdir(src)):
            _merge(os.path.join(src, name), os.path.join(dst, name), moved)
        return
    if os.path.lexists(dst):
        raise PackageError("%s already exists (installed by another distribution?)" % dst)
    os.replace(src, dst)
    moved.append((src, dst, False))


def record_paths(dist_info_dir):
    """The absolute paths a distribution's RECORD lists (for uninstalling)."""
    site = os.path.dirname(dist_info_dir)
    out = []
    try:
        with open(os.path.join(dist_info_dir, "RECORD"), encoding="utf-8") as f:
            for line in f:
                path = line.rsplit(",", 2)[0] if line.strip() else None
                if path:
                    out.append(os.path.normpath(os.path.join(site, path)))
    except OSError:
        pass
    out.append(dist_info_dir)
    return out


def uninstall(dist_info_dir):
    """Removes the files of RECORD, then empty package directories and the .dist-info."""
    site = os.path.dirname(dist_info_dir)
    dirs = set()
    for path in record_paths(dist_info_dir):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.remove(path)
        parent = os.path.dirname(path)
        while parent.startswith(site + os.sep):
            dirs.add(parent)
            parent = os.path.dirname(parent)
    for d in sorted(dirs, key=len, reverse=True):
        pycache = os.path.join(d, "__pycache__")
        if os.path.isdir(pycache):
            shutil.rmtree(pycache, ignore_errors=True)
        try:
            os.rmdir(d)
        except OSError:
            pass
