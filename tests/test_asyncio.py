"""asyncio in the kernel, for every kernel in KITE_TEST_KERNELS.

In kite-node (WebAssembly) asyncio runs on kite's own event loop (no self-pipe: Emscripten has
no socketpair(), and socket.py's TCP fallback used to kill the worker with "Cannot find module
'ws'"); network sockets raise OSError there. Natively the stock asyncio loop runs.

Covers: top-level await, asyncio.run, asyncio.gather of two sleeps (~max, not the sum), the
loop's kind, interrupting `await asyncio.sleep(600)` and `asyncio.run(sleep(600))`
(KeyboardInterrupt within 1 s, idle, state kept, the cell's coroutine cleaned up, the next
await works) and a socket connection attempt (OSError, the kernel survives).
"""
from __future__ import annotations

import time

import pytest

from kernels import Kernel, k, kernel  # noqa: F401  (pytest fixtures)

DELAY = 0.3           # seconds between the cell starting and the interrupt
MAX_LATENCY = 1.0     # interrupt -> execute_reply (generous for a loaded machine)
REPLY_TIMEOUT = 10.0


def _stdout(k: Kernel, code: str, timeout: float = 30) -> str:
    return k.execute_ok(code, timeout).stream_text()


def test_top_level_await(k: Kernel) -> None:
    out = _stdout(k, "import asyncio, time\n"
                     "_t = time.monotonic()\n"
                     "await asyncio.sleep(0.1)\n"
                     "print(round(time.monotonic() - _t, 2) >= 0.09)")
    assert out.strip() == "True", f"[{k.name}] {out!r}"
    assert k.expr("await asyncio.sleep(0, result=7)") == "7"


def test_asyncio_run(k: Kernel) -> None:
    out = _stdout(k, "import asyncio\n"
                     "async def _twice(x):\n"
                     "    await asyncio.sleep(0.05)\n"
                     "    return 2 * x\n"
                     "print(asyncio.run(_twice(21)))\n"
                     "_loop = asyncio.new_event_loop()\n"
                     "print(_loop.run_until_complete(_twice(5)))\n"
                     "_loop.close()")
    assert out.split() == ["42", "10"], f"[{k.name}] {out!r}"


def test_get_event_loop(k: Kernel) -> None:
    # A fresh default policy (as set_event_loop_policy(None) makes) creates the main thread's
    # loop in get_event_loop(); in wasm it must be kite's loop, and work.
    out = _stdout(k, "import asyncio, warnings\n"
                     "asyncio.set_event_loop_policy(None)\n"
                     "with warnings.catch_warnings():\n"
                     "    warnings.simplefilter('ignore', DeprecationWarning)\n"
                     "    _l = asyncio.get_event_loop()\n"
                     "print(_l.run_until_complete(asyncio.sleep(0.01, result='ran')))\n"
                     "print(type(_l).__name__)\n"
                     "asyncio.set_event_loop(None)\n"
                     "_l.close()")
    lines = out.split()
    assert lines[0] == "ran", f"[{k.name}] {out!r}"
    if k.name == "kite-node":
        assert lines[1] == "KiteEventLoop", out


def test_gather_runs_concurrently(k: Kernel) -> None:
    out = _stdout(k, "import asyncio, time\n"
                     "async def _nap(d):\n"
                     "    await asyncio.sleep(d)\n"
                     "    return d\n"
                     "_t = time.monotonic()\n"
                     "_r = await asyncio.gather(_nap(0.4), _nap(0.4))\n"
                     "print(_r, time.monotonic() - _t)")
    values, elapsed = out.strip().rsplit(" ", 1)
    assert values == "[0.4, 0.4]", f"[{k.name}] {out!r}"
    assert 0.38 <= float(elapsed) < 0.75, f"[{k.name}] gather of two 0.4 s sleeps took {elapsed} s"


def _interrupt(k: Kernel, code: str):
    msg_id = k.start_cell(code)
    k.idle_for(DELAY)
    assert k.results[msg_id].reply is None, f"[{k.name}] cell ended before the interrupt"
    t0 = time.monotonic()
    k.interrupt("mode")
    r = k.collect(msg_id, REPLY_TIMEOUT)
    assert r.reply is not None, f"[{k.name}] no execute_reply after the interrupt: {r.describe()}"
    latency = r.reply_time - t0
    assert r.status == "error" and r.content["ename"] == "KeyboardInterrupt", r.describe()
    assert latency < MAX_LATENCY, f"[{k.name}] interrupt -> reply took {latency:.3f}s"
    assert r.idle, f"[{k.name}] no idle status after the interrupted cell"
    return r


@pytest.mark.parametrize("how", ["await", "asyncio.run"])
def test_interrupt_sleep(k: Kernel, how: str) -> None:
    k.execute_ok("import asyncio\nx = 41\n_cleaned = []\n"
                 "async def _long():\n"
                 "    try:\n"
                 "        await asyncio.sleep(600)\n"
                 "    finally:\n"
                 "        _cleaned.append(1)\n")
    code = "await _long()" if how == "await" else "asyncio.run(_long())"
    _interrupt(k, code)
    assert k.expr("x + 1") == "42", f"[{k.name}] state lost after the interrupt"
    # the interrupted coroutine was cancelled (its finally ran), not left to resume later
    assert k.expr("_cleaned") == "[1]", f"[{k.name}] the cell's coroutine was not cleaned up"
    assert k.expr("await asyncio.sleep(0.05, result='again')") == "'again'"
    # only the running cell's own task is left on the kernel's loop
    assert k.expr("await asyncio.sleep(0, result=len(asyncio.all_tasks()))") == "1"


def test_interrupt_plain_await_sleep(k: Kernel) -> None:
    k.execute_ok("import asyncio\nx = 41")
    _interrupt(k, "await asyncio.sleep(600)")
    assert k.expr("x + 1") == "42"
    assert k.expr("await asyncio.sleep(0.05, result=1)") == "1"


def test_socket_connection_fails_cleanly(k: Kernel) -> None:
    out = _stdout(k, "import socket\n"
                     "try:\n"
                     "    socket.create_connection(('127.0.0.1', 1), timeout=5)\n"
                     "except OSError as e:\n"
                     "    print('OSError', type(e).__name__, e)\n"
                     "else:\n"
                     "    print('connected?!')")
    assert out.startswith("OSError"), f"[{k.name}] {out!r}"
    if k.name == "kite-node":
        assert "not available in kite's WebAssembly build" in out, out
    assert k.expr("1 + 1") == "2", f"[{k.name}] kernel did not survive the socket call"


def test_asyncio_open_connection_fails_cleanly(k: Kernel) -> None:
    out = _stdout(k, "import asyncio\n"
                     "try:\n"
                     "    await asyncio.wait_for(asyncio.open_connection('127.0.0.1', 1), 5)\n"
                     "except OSError as e:\n"
                     "    print('OSError', type(e).__name__)\n")
    assert out.startswith("OSError"), f"[{k.name}] {out!r}"
    assert k.expr("1 + 1") == "2"
