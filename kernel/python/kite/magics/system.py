"""Shell commands: !cmd, x = !cmd, %system, %sx, %%bash, %%sh, %%script. Natively they run in a
real shell with the output streamed into the cell; in WebAssembly (browser, kite-node) there is
no process to start, so they raise a clear error instead."""

import sys

NO_SHELL = ("shell commands (!cmd, %%bash) are not available in kite's WebAssembly build: "
            "there are no processes in the browser or in kite-node's sandbox")


def _check():
    if sys.platform == "emscripten":
        raise OSError(NO_SHELL)


def _expand(cmd):
    """IPython expands {expr} and $name in shell commands from the user's namespace."""
    if "{" not in cmd and "$" not in cmd:
        return cmd
    import re
    from . import user_ns
    ns = user_ns()

    def brace(m):
        try:
            return str(eval(m.group(1), ns))
        except Exception:
            return m.group(0)

    def dollar(m):
        if m.group(1) == "$":
            return "$" + m.group(2)
        return str(ns[m.group(2)]) if m.group(2) in ns else m.group(0)

    cmd = re.sub(r"(?<!\{)\{([^{}]+)\}(?!\})", brace, cmd)
    return re.sub(r"(\$?)\$([A-Za-z_]\w*)", dollar, cmd)


def _stream(argv, stdin_text=None, shell=False):
    """Run a process, copying its output into the cell as it comes; its exit status. An
    interrupt (KeyboardInterrupt) stops the process and is re-raised."""
    import subprocess
    sys.stdout.flush()
    proc = subprocess.Popen(argv, shell=shell, stdin=subprocess.PIPE if stdin_text is not None else None,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        if stdin_text is not None:
            proc.stdin.write(stdin_text.encode())
            proc.stdin.close()
        for chunk in iter(lambda: proc.stdout.read1(65536), b""):
            sys.stdout.write(chunk.decode("utf-8", "replace"))
        return proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise


def run(cmd):
    _check()
    return _stream(_expand(cmd), shell=True)


def output(cmd):
    _check()
    import subprocess
    done = subprocess.run(_expand(cmd), shell=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    return done.stdout.decode("utf-8", "replace")


def system_line(line):
    from ..shell import get_ipython
    get_ipython().system(line)


def sx_line(line):
    from ..shell import get_ipython
    return get_ipython().getoutput(line)


def system_cell(line, cell):
    for cmd in cell.splitlines():
        if cmd.strip():
            run(cmd)


def sx_cell(line, cell):
    from ..shell import SList
    return SList(output(cell).splitlines())


def script(line, cell):
    _check()
    import shlex
    argv = shlex.split(line)
    if not argv:
        from ..shell import UsageError
        raise UsageError("%%script: the interpreter to run is missing")
    status = _stream(argv, stdin_text=cell)
    if status:
        import subprocess
        raise subprocess.CalledProcessError(status, cell)  # as IPython's %%script


def bash(line, cell):
    script("bash " + line, cell)


def sh(line, cell):
    script("sh " + line, cell)
