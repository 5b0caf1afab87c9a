"""%pip in the native kernel (kite-native): the real pip of the embedded Python's environment,
in a subprocess, as ipykernel's %pip does; its output is streamed into the cell."""

import os
import subprocess
import sys


def python_executable():
    """The interpreter whose environment kite-native embeds. sys.executable may be the kite
    binary itself (an embedding sets it from argv[0]); prefer a real pythonX.Y of sys.prefix (the
    venv when kite-native runs in one), then sys._base_executable."""
    names = ["python%d.%d" % sys.version_info[:2], "python%d" % sys.version_info[0], "python"]
    candidates = []
    for prefix in (sys.prefix, sys.exec_prefix):
        candidates += [os.path.join(prefix, "bin", n) for n in names]
    candidates += [sys.executable, getattr(sys, "_base_executable", None)]
    for path in candidates:
        if path and os.path.basename(path).startswith("python") and os.access(path, os.X_OK):
            return path
    raise RuntimeError("cannot find the Python interpreter of this kernel's environment "
                       "(sys.prefix %s) to run pip" % sys.prefix)


def run_pip(args):
    """python -m pip ARGS; raises CalledProcessError on failure, KeyboardInterrupt stops pip."""
    cmd = [python_executable(), "-m", "pip"] + list(args)
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            stdin=subprocess.DEVNULL)
    try:
        for line in iter(proc.stdout.readline, b""):
            sys.stdout.write(line.decode("utf-8", "replace"))
        code = proc.wait()
    except BaseException:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise
    finally:
        proc.stdout.close()
    import importlib
    importlib.invalidate_caches()
    if code != 0:
        raise subprocess.CalledProcessError(code, " ".join(cmd))
