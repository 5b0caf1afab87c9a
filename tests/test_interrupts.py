"""Interrupting running cells, for every kernel in KITE_TEST_KERNELS and both interrupt paths.

Paths (parameter `path`):
- `mode`: KernelManager.interrupt_kernel(), i.e. what a frontend does for the kernelspec's
  interrupt_mode (kite-native / ipykernel: SIGINT; kite-node: interrupt_request on control).
- `other`: the path that is not the kernelspec's mode: an explicit interrupt_request on control
  for signal-mode kernels (kite-native, ipykernel), SIGINT to the host process for kite-node.

Every case sets `x = 41` first, interrupts 0.3 s after the cell started (execute_input seen, or
the input_request for the stdin case) and asserts: the execute_reply (KeyboardInterrupt error,
the handler's own exception, or ok for the handler/ignore cases), interrupt-to-reply time < 1 s
(generous; the benchmarks measure the real figure), an `error` message on iopub, the
interrupt_reply when the path was an interrupt_request, idle afterwards, and `x + 1` == 42.
"""
from __future__ import annotations

import signal
import time
from dataclasses import dataclass

import pytest

from kernels import Kernel, k, kernel  # noqa: F401  (pytest fixtures)

DELAY = 0.3           # seconds between the cell starting and the interrupt
import os  # noqa: E402

# interrupt -> execute_reply, generous for a noisy 2-core machine (ipykernel's import_loop
# reply, with IPython formatting the traceback, was seen at 1.26 s while other suites ran)
MAX_LATENCY = float(os.environ.get("KITE_INTERRUPT_MAX_LATENCY", "1.0"))
REPLY_TIMEOUT = 10.0  # how long we wait at all before calling it a hang


@dataclass
class Case:
    code: str
    expect: str = "KeyboardInterrupt"  # the reply's ename, or "ok"
    stdin: bool = False
    stdout_has: str = ""
    # for "ok" cases: the cell ends by itself at about this many seconds after the interrupt
    natural_end: float = 0.0


FIB = "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\nfib(40)"

CUSTOM_HANDLER = """\
import signal
handler_flag = False
def _handler(signum, frame):
    global handler_flag
    print('handler ran', signum, flush=True)
    handler_flag = True
_old = signal.signal(signal.SIGINT, _handler)
try:
    while not handler_flag:
        pass
finally:
    signal.signal(signal.SIGINT, _old)
print('loop ended', flush=True)
"""

HANDLER_RAISES = """\
import signal
class KiteStop(Exception):
    pass
def _raise(signum, frame):
    raise KiteStop('custom')
_old = signal.signal(signal.SIGINT, _raise)
try:
    import time
    time.sleep(600)
finally:
    signal.signal(signal.SIGINT, _old)
"""

IGNORED = """\
import signal, time
_old = signal.signal(signal.SIGINT, signal.SIG_IGN)
try:
    _end = time.monotonic() + 1.5
    while time.monotonic() < _end:
        pass
finally:
    signal.signal(signal.SIGINT, _old)
print('ignored ok', flush=True)
"""

IMPORT_LOOP = """\
import sys
while True:
    for _name in [n for n in sys.modules if n == 'email' or n.startswith('email.')
                  or n == 'json' or n.startswith('json.')]:
        del sys.modules[_name]
    import email.message, email.parser, json
"""

HEAVY_OUTPUT = """\
_i = 0
while True:
    print(_i)
    _i += 1
"""

CASES = {
    "busy_loop": Case("while True:\n    pass"),
    "fib40": Case(FIB),
    "sleep600": Case("import time\ntime.sleep(600)"),
    "input_pending": Case("input('waiting: ')", stdin=True),
    "custom_handler": Case(CUSTOM_HANDLER, expect="ok", stdout_has="handler ran 2"),
    "handler_raises": Case(HANDLER_RAISES, expect="KiteStop"),
    "sig_ign": Case(IGNORED, expect="ok", stdout_has="ignored ok", natural_end=1.5),
    "import_loop": Case(IMPORT_LOOP),
    "heavy_output": Case(HEAVY_OUTPUT),
}


def _path(k: Kernel, path: str) -> str:
    return "mode" if path == "mode" else k.other_interrupt_path()


def interrupt_and_collect(k: Kernel, msg_id: str, path: str, delay: float = DELAY):
    k.idle_for(delay)  # keep reading iopub while waiting
    t0 = time.monotonic()
    control = k.interrupt(path)
    r = k.collect(msg_id, REPLY_TIMEOUT)
    assert r.reply is not None, (
        f"[{k.name}] no execute_reply {REPLY_TIMEOUT}s after the interrupt ({path}): hang. "
        f"{r.describe()}")
    if control is not None:
        ctl = k.collect(control, 5, need_idle=False)
        assert ctl.reply is not None, f"[{k.name}] no interrupt_reply on control"
        assert ctl.reply["msg_type"] == "interrupt_reply", ctl.reply["msg_type"]
        # the spec's interrupt_reply content is {}; ipykernel and kite add status ok
        assert ctl.content.get("status", "ok") == "ok", ctl.content
    return r, r.reply_time - t0


def assert_survived(k: Kernel) -> None:
    assert k.expr("x + 1") == "42", f"[{k.name}] state lost after the interrupt"


def assert_interrupted(k: Kernel, r, latency: float, path: str,
                       ename: str = "KeyboardInterrupt") -> None:
    assert r.status == "error", f"[{k.name}] expected {ename}, got {r.describe()}"
    assert r.content["ename"] == ename, r.describe()
    errs = r.errors()
    assert len(errs) == 1, f"[{k.name}] expected one iopub error message: {r.describe()}"
    assert errs[0]["content"]["ename"] == ename
    assert latency < MAX_LATENCY, f"[{k.name}] interrupt ({path}) -> reply took {latency:.3f}s"
    assert r.idle, f"[{k.name}] no idle status after the interrupted cell"


@pytest.mark.parametrize("path", ["mode", "other"])
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_interrupt(k: Kernel, case: str, path: str) -> None:
    c = CASES[case]
    how = _path(k, path)
    k.execute_ok("x = 41")
    msg_id = k.start_cell(c.code, c.stdin)
    try:
        r, latency = interrupt_and_collect(k, msg_id, how)
    finally:
        if k.results[msg_id].reply is None:
            k.ensure_responsive()
    if c.expect != "ok":
        assert_interrupted(k, r, latency, how, c.expect)
    else:
        assert r.status == "ok", f"[{k.name}] {case}: expected ok, got {r.describe()}"
        assert r.errors() == [], f"[{k.name}] {case}: unexpected error {r.describe()}"
        assert latency < c.natural_end + MAX_LATENCY, f"{case}: reply {latency:.3f}s after"
        assert r.idle
    if c.stdout_has:
        assert c.stdout_has in r.stream_text(), f"[{k.name}] {case}: {r.stream_text()[-500:]!r}"
    if case == "sig_ign":
        # the interrupt must not have cut the 1.5 s loop short
        assert latency > 1.5 - DELAY - 0.25, f"ignored SIGINT still ended the loop ({latency:.3f}s)"
    if case == "heavy_output":
        parts = r.stream_text().split("\n")
        assert len(parts) > 10, f"[{k.name}] too little output before the interrupt: {parts[:5]}"
        for i, line in enumerate(parts[:-1]):
            assert line == str(i), f"[{k.name}] output corrupted at line {i}: {line!r}"
        assert parts[-1] in ("", str(len(parts) - 1)), f"last partial line {parts[-1]!r}"
    if case == "import_loop":
        k.execute_ok("import email.message, json\nassert email.message.Message and json.dumps")
    assert_survived(k)
    # next cell runs normally: no leftover interrupt
    r2 = k.execute("y = x + 1")
    assert r2.status == "ok", f"[{k.name}] stray interrupt in the next cell: {r2.describe()}"


def test_interrupt_request_is_answered_on_control(k: Kernel) -> None:
    # KernelManager.interrupt_kernel() sends interrupt_request from its own socket (the reply is
    # not seen): this sends it from the client, as a frontend's control channel would.
    k.execute_ok("x = 41")
    msg_id = k.start_cell("while True:\n    pass")
    r, latency = interrupt_and_collect(k, msg_id, "control")
    assert_interrupted(k, r, latency, "control")
    assert_survived(k)


def test_stdin_after_an_interrupted_input(k: Kernel) -> None:
    k.execute_ok("x = 41")
    msg_id = k.start_cell("v = input('never answered: ')", stdin=True)
    r, latency = interrupt_and_collect(k, msg_id, "mode")
    assert_interrupted(k, r, latency, "mode")
    assert_survived(k)
    # a late answer to the abandoned prompt is ignored and does not disturb the next input
    k.input("late")
    msg_id = k.start_cell("v = input('again: ')", stdin=True)
    assert k.results[msg_id].stdin[0]["content"]["prompt"] == "again: "
    k.input("fresh ü ✓")
    r = k.collect(msg_id)
    assert r.reply is not None and r.status == "ok", f"[{k.name}] {r.describe()}"
    assert k.expr("v") == repr("fresh ü ✓"), f"[{k.name}] the late answer reached the next input()"


@pytest.mark.parametrize("path", ["mode", "other"])
def test_interrupt_while_idle(k: Kernel, path: str) -> None:
    how = _path(k, path)
    k.execute_ok("x = 41")
    k.interrupt(how)
    k.idle_for(0.5)
    r = k.execute("import time\ntime.sleep(0.3)\nx + 1")
    assert r.status == "ok", f"[{k.name}] idle interrupt ({how}) leaked into next cell: {r.describe()}"
    assert r.errors() == []
    assert r.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "42"
    assert r.idle


SWALLOWED = """\
import time, weakref
class _Target:
    pass
def _callback(ref):
    raise KeyboardInterrupt  # as if SIGINT landed in a weakref callback (importlib's module locks)
_t = _Target()
_ref = weakref.ref(_t, _callback)
del _t  # CPython reports the callback's exception as "ignored" and carries on
_end = time.monotonic() + 3
while time.monotonic() < _end:
    pass
"""


def test_interrupt_swallowed_by_a_callback_still_stops_the_cell(k: Kernel) -> None:
    # Seen in the import soak: an interrupt raised inside importlib's weakref callback was printed
    # as "Exception ignored ... KeyboardInterrupt" and the cell ran on (a hang). The kernel
    # re-delivers it to the cell.
    k.execute_ok("x = 41")
    t0 = time.monotonic()
    r = k.execute(SWALLOWED, timeout=30)
    elapsed = time.monotonic() - t0
    if k.name == "python3" and r.status == "ok":
        pytest.xfail("ipykernel reports the swallowed KeyboardInterrupt and runs on (kite re-delivers)")
    assert r.status == "error" and r.content["ename"] == "KeyboardInterrupt", r.describe()
    assert elapsed < 2.0, f"[{k.name}] the cell ran on for {elapsed:.2f} s after the interrupt"
    assert "Exception ignored" not in r.stream_text("stderr")
    assert r.idle
    assert k.expr("x + 1") == "42"


USR1 = """\
import signal, time
usr1_got = []
def _h(signum, frame):
    usr1_got.append(signum)
    print('usr1 handler', signum, flush=True)
_old = signal.signal(signal.SIGUSR1, _h)
try:
    _end = time.monotonic() + 30
    while not usr1_got and time.monotonic() < _end:
        pass
finally:
    signal.signal(signal.SIGUSR1, _old)
print('usr1 done', usr1_got, flush=True)
"""


def test_user_sigusr1_handler(k: Kernel) -> None:
    if k.interrupt_mode == "message":
        # kite-node: the Python runs in a wasm worker; a SIGUSR1 for it can only be written into
        # the shared interrupt buffer by the host, and no Jupyter message asks the host to write
        # anything but SIGINT (interrupt_request). A real SIGUSR1 to the Node process would go
        # to Node itself (it starts Node's inspector), not to Python. Not reachable from
        # jupyter_client, so not tested here.
        pytest.skip(f"{k.name}: SIGUSR1 only deliverable through the interrupt buffer")
    k.execute_ok("x = 41")
    msg_id = k.start_cell(USR1)
    k.idle_for(DELAY)
    t0 = time.monotonic()
    k.km.signal_kernel(signal.SIGUSR1)
    r = k.collect(msg_id, REPLY_TIMEOUT)
    assert r.reply is not None, f"[{k.name}] hang after SIGUSR1: {r.describe()}"
    latency = r.reply_time - t0
    assert r.status == "ok", r.describe()
    out = r.stream_text()
    assert f"usr1 handler {int(signal.SIGUSR1)}" in out, out
    assert f"usr1 done [{int(signal.SIGUSR1)}]" in out, out
    assert latency < MAX_LATENCY, f"SIGUSR1 -> reply {latency:.3f}s"
    assert_survived(k)


LEAK_ROUNDS = int(os.environ.get("KITE_LEAK_ROUNDS", "200"))


def test_interrupt_never_reaches_the_next_cell(k: Kernel) -> None:
    """Issue 14: `pass`, then an interrupt_request on control while nothing runs, then the next
    cell at once: the next cell was sent after the interrupt, so it must never get
    KeyboardInterrupt, whichever of the two reaches the kernel first (shell and control are
    separate sockets: the cell often overtakes the interrupt). kite-native raised SIGINT into it
    in 30 of 200 rounds."""
    leaks, unanswered = [], []
    k.execute_ok("leak_next = 0")
    for i in range(LEAK_ROUNDS):
        k.execute_ok("pass")
        control = k.interrupt("control")
        r = k.execute("leak_next += 1")
        if r.reply is None or r.status != "ok":
            leaks.append(f"round {i}: {r.describe()}"[:400])
        ctl = k.collect(control, 5, need_idle=False)
        if ctl.reply is None:
            unanswered.append(i)
        k.results.clear()
        if len(leaks) >= 5:
            break
    assert not leaks, f"[{k.name}] {len(leaks)} next cell(s) got the interrupt: {leaks}"
    assert not unanswered, f"[{k.name}] interrupt_requests without reply in rounds {unanswered}"
    assert k.expr("leak_next") == str(LEAK_ROUNDS)


def test_interrupt_during_the_last_c_call_of_a_cell(k: Kernel) -> None:
    """A signal that lands during a cell's last long C call (sum over a range: no signal checks
    inside) is raised before the reply, not lost: the eval loop would never check it again."""
    k.execute_ok("x = 41")
    k.execute_ok("import time\n_t = time.perf_counter(); sum(range(10**6))\n"
                 "N = int(1.5e6 / (time.perf_counter() - _t))  # ~1.5 s of one C call")
    msg_id = k.start_cell("y = sum(range(N))")
    k.idle_for(0.3)
    t0 = time.monotonic()
    k.interrupt("mode")
    r = k.collect(msg_id, 30)
    assert r.reply is not None, f"[{k.name}] no reply: {r.describe()}"
    assert r.status == "error" and r.content.get("ename") == "KeyboardInterrupt", (
        f"[{k.name}] the interrupt during the last C call was lost: {r.content}")
    assert r.reply_time - t0 < 5, f"[{k.name}] reply {r.reply_time - t0:.1f}s after the interrupt"
    assert_survived(k)


SLOW_COMM_TARGET = """\
import comm, time
def _slow_open(c, msg):
    time.sleep(1.0)  # a comm_open whose handler takes a while (an import, a widget's set-up)
comm.get_comm_manager().register_target('kite_slow_open', _slow_open)
"""


@pytest.mark.parametrize("path", ["mode", "other"])
def test_interrupt_queued_behind_a_comm_message_stops_the_cell(k: Kernel, path: str) -> None:
    """Seen on a first visit in the browser: JupyterLab's widget manager opened a comm and sent a
    comm_msg to it while the kernel was busy; the user ran `while True: pass` and pressed
    Interrupt while the comm_open was still being handled. The signal was aimed at the oldest
    pending request (the comm_msg, which ran no Python and did not take it) and dropped as stale
    when the cell began: the loop never stopped. An interrupt applies to every cell sent before
    it: the cell behind the comm_msg must get it."""
    if k.name == "python3":
        pytest.xfail("ipykernel raises the SIGINT in the comm_open's handler and runs the queued cell on")
    if k.name == "kite-native" and _path(k, path) == "mode":
        # kite-native carries a SIGINT pending when a comm_msg begins to the next cell, and keeps
        # it there if an interrupt_request dated at or after the cell raised it; a raw SIGINT
        # (the kernelspec's interrupt_mode) carries no date to tell a cell sent before it from
        # one sent after, so it is dropped (posix_interrupts.hpp). Known limit (README).
        pytest.xfail("kite-native: a raw SIGINT pending when the cell begins is dropped (no date)")
    k.execute_ok("x = 41")
    k.execute_ok(SLOW_COMM_TARGET)
    k.send("shell", "comm_open", {"comm_id": "kite-slow", "target_name": "kite_slow_open", "data": {}})
    k.send("shell", "comm_msg", {"comm_id": "kite-no-such-comm", "data": {}})
    msg_id = k.send_execute("while True:\n    pass")
    k.idle_for(0.3)  # the comm_open is still sleeping: the comm_msg and the cell are queued
    t0 = time.monotonic()
    k.interrupt(_path(k, path))
    r = k.collect(msg_id, REPLY_TIMEOUT)
    assert r.reply is not None, f"[{k.name}] the cell was never interrupted: {r.describe()}"
    assert r.status == "error" and r.content["ename"] == "KeyboardInterrupt", r.describe()
    # (about 0.7 s of the comm_open's sleep remain when the interrupt is sent)
    assert r.reply_time - t0 < 0.7 + MAX_LATENCY, f"interrupt -> reply {r.reply_time - t0:.3f} s"
    assert r.idle
    assert k.expr("x + 1") == "42"
