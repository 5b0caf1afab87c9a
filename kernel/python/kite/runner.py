"""Runs cells in __main__ like IPython: the last expression's value becomes execute_result,
counts, In/Out/_ variables, history, user_expressions and error reporting."""

import __future__
import _ast as ast  # the node classes and PyCF_* flags, without importing the ast module
import sys

import _kite

from . import errors, formatters, history, iopub, stdin

_CO_COROUTINE = 0x80
_FUTURE_FLAGS = 0
for _name in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _name).compiler_flag

_unstored = 0  # cells run without history, for unique filenames
payload = []  # the running cell's reply payloads (exit() adds ask_exit), as in ipykernel
_compile_flags = 0  # __future__ imports of earlier cells stay in force, as in IPython
_loop = None
ns = sys.modules["__main__"].__dict__


def setup_namespace():
    ns.update({
        "In": [""], "Out": {}, "_": "", "__": "", "___": "",
        "_i": "", "_ii": "", "_iii": "",
    })
    ns["_ih"] = ns["In"]
    ns["_oh"] = ns["Out"]
    hidden_names.update(ns)


hidden_names = set()  # the namespace's initial names: %who and %reset leave them alone


_sources = {}  # cell sources registered before linecache was imported


def _register_source(filename, code):
    # Tracebacks, inspect.getsource and pdb find cell lines through linecache; until something
    # imports it (patch_linecache, a post-import hook), the entries wait here.
    entry = (len(code), None, code.splitlines(True), filename)
    linecache = sys.modules.get("linecache")
    if linecache is not None and getattr(linecache, "_kite_patched", False):
        linecache.cache[filename] = entry
    else:
        _sources[filename] = entry


def patch_linecache(linecache):
    linecache.cache.update(_sources)
    _sources.clear()
    linecache._kite_patched = True


def _ends_with_semicolon(code):
    if ";" not in code:
        return False
    import io
    import tokenize
    skip = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.ENDMARKER,
            tokenize.INDENT, tokenize.DEDENT}
    last = None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type not in skip:
                last = tok
    except (tokenize.TokenError, SyntaxError):
        return code.rstrip().endswith(";")
    return last is not None and last.string == ";"


def _async_loop():
    global _loop
    if _loop is None or _loop.is_closed():
        import asyncio
        _loop = asyncio.new_event_loop()
    return _loop


def _run_coroutine(coro):
    """Top-level await: run the cell's coroutine on the kernel's loop. If an interrupt (or any
    BaseException) stops the loop while the cell's task still waits, the task is cancelled and
    the loop run until it has finished, so it cannot resume during a later cell."""
    loop = _async_loop()
    task = loop.create_task(coro)
    try:
        return loop.run_until_complete(task)
    except BaseException:
        if task.done():
            if not task.cancelled():
                task.exception()  # retrieved: no "Task exception was never retrieved" later
        else:
            task.cancel()
            try:
                loop.run_until_complete(task)
            except BaseException:  # CancelledError, or another interrupt during the clean-up
                pass
        raise


def _run(code_obj):
    global _compile_flags
    _compile_flags |= code_obj.co_flags & _FUTURE_FLAGS
    if code_obj.co_flags & _CO_COROUTINE:  # top-level await
        return _run_coroutine(eval(code_obj, ns))
    return eval(code_obj, ns)


def _compile(tree, filename, mode):
    return compile(tree, filename, mode,
                   flags=_compile_flags | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)


compile_user = _compile  # for magics that run user code (%time): same flags, same namespace
run_code = _run


def _python_source(code):
    """The cell as Python: IPython syntax (magics, !cmd, obj?) turned into calls."""
    if "%" in code or "!" in code or "?" in code:
        from .transform import transform_cell
        return transform_cell(code)
    return code


def _record_in(count, code):
    history.add(count, code)
    ns["In"].append(code)
    ns["_iii"], ns["_ii"], ns["_i"] = ns.get("_ii", ""), ns.get("_i", ""), code
    ns["_i%d" % count] = code


def _record_out(count, value, data):
    ns["Out"][count] = value
    ns["___"], ns["__"], ns["_"] = ns.get("__", ""), ns.get("_", ""), value
    ns["_%d" % count] = value
    history.set_output(count, data.get("text/plain"))


def _run_cell(code, filename, count, show_result, store):
    if code[:1] in (" ", "\t"):
        from .completeness import strip_leading_indent
        code = strip_leading_indent(code)
        _register_source(filename, code)
    code = _python_source(code)
    tree = compile(code, filename, "exec",
                   flags=_compile_flags | ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                   dont_inherit=True)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    if tree.body:
        _run(_compile(tree, filename, "exec"))
    if last is None:
        return None
    value = _run(_compile(ast.Expression(last.value), filename, "eval"))
    if value is None or not show_result:
        return value
    data, metadata = formatters.format(value)
    iopub.publish("execute_result",
                  {"execution_count": count, "data": data, "metadata": metadata})
    if store:
        _record_out(count, value, data)
    return value


_nested = 0
_count = 0  # the running cell's number


def run_nested(code, show_result=True):
    """Run code (IPython syntax) inside the running cell, as get_ipython().run_cell and
    %%capture do: its last expression is displayed, nothing is counted or stored."""
    global _nested
    _nested += 1
    filename = "<cell-%d.%d>" % (_count, _nested)
    _register_source(filename, code)
    return _run_cell(code, filename, _count, show_result, False)


def show_error(exc):
    """Publish an exception as the cell's error output (a UsageError as IPython shows it)."""
    ename, evalue, tb = errors.describe(exc)
    if ename == "UsageError":
        sys.stderr.write("UsageError: %s\n" % evalue)
        return ename, evalue, tb
    iopub.publish("error", {"ename": ename, "evalue": evalue, "traceback": tb})
    return ename, evalue, tb


def _shell():
    """The get_ipython() shell if something made it (its events need calling), else None."""
    shell = sys.modules.get("kite.shell")
    return shell.InteractiveShell._instance if shell is not None else None


class Exit:
    """`exit()` / `quit()` in a cell, as in ipykernel: the reply asks the frontend to shut the
    kernel down (payload ask_exit) instead of raising SystemExit into the user's cell."""

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return "Use %s() to ask the frontend to stop this kernel." % self._name

    def __call__(self, keep_kernel=False):
        payload.append({"source": "ask_exit", "keepkernel": bool(keep_kernel)})


def _refresh_cwd_listing():
    """JupyterLite's drive keeps a directory's mtime when a file is added to it, so the import
    system's cached listing of the cwd (sys.path[0] == '') would miss a module written since
    (`%%writefile mod.py`, then `import mod`): re-list it in the next import that gets there."""
    import os
    try:
        cwd = os.getcwd()
    except OSError:
        return
    if not cwd.startswith("/drive"):  # only JupyterLite's drive (kite-node's cwd is a real dir)
        return
    finder = sys.path_importer_cache.get(cwd)
    if finder is not None and hasattr(finder, "invalidate_caches"):
        finder.invalidate_caches()


def shell_events_before(shell, code, store, silent, count):
    from .shell import ExecutionInfo, ExecutionResult
    info = ExecutionInfo(code, store, silent)
    result = ExecutionResult(info)
    result.execution_count = count
    shell.execution_count = count
    if not silent:
        shell.events.trigger("pre_execute")
        shell.events.trigger("pre_run_cell", info)
    return info, result


def shell_events_after(shell, result, silent):
    shell.last_execution_succeeded = result.success
    shell.last_execution_result = result
    if not silent:
        shell.events.trigger("post_execute")
        shell.events.trigger("post_run_cell", result)


def user_expressions(expressions):
    results = {}
    for name, expr in expressions.items():
        try:
            value = eval(compile(str(expr), "<user-expression>", "eval", dont_inherit=True), ns)
            data, metadata = formatters.format(value)
            results[name] = {"status": "ok", "data": data, "metadata": metadata}
        except Exception as exc:
            ename, evalue, tb = errors.describe(exc)
            results[name] = {"status": "error", "ename": ename, "evalue": evalue, "traceback": tb}
    return results


def execute(code, silent=False, store_history=True, expressions=None, allow_stdin=True, count=1):
    """Run one cell as number `count` (the protocol core counts) and return the execute_reply
    content (its execution_count is set by the core)."""
    global _unstored, _count
    _count = count
    store = store_history and not silent
    if store:
        filename = "<cell-%d>" % count
        _record_in(count, code)
    else:
        _unstored += 1
        filename = "<cell-%d.%d>" % (count, _unstored)
    _register_source(filename, code)
    stdin.allowed = allow_stdin
    iopub.new_request()
    if sys.platform == "emscripten":
        _refresh_cwd_listing()
    del payload[:]
    shell = _shell()
    info = result = None
    if shell is not None:
        info, result = shell_events_before(shell, code, store, silent, count)
    try:
        show = not silent and not _ends_with_semicolon(code)
        _run_cell(code, filename, count, show, store)
        _kite.check_signals()  # one that landed during the cell's last C call is not lost
    except BaseException as exc:  # KeyboardInterrupt and SystemExit are the cell's errors too
        sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, exc.__traceback__
        ename, evalue, tb = show_error(exc)
        if result is not None:
            result.error_in_exec = exc
            shell_events_after(shell, result, silent)
        iopub.flush()
        return {"status": "error",
                "ename": ename, "evalue": evalue, "traceback": tb}
    finally:
        iopub.flush()
    if result is not None:
        shell_events_after(shell, result, silent)
        iopub.flush()
    results = user_expressions(expressions or {})
    iopub.flush()
    return {"status": "ok", "user_expressions": results, "payload": list(payload)}
