"""Smoke tests of the kite-node host (wasm/node/kite-node.mjs): the Jupyter wire protocol over
ZeroMQ, interrupts through the shared buffer, stdin, shutdown, malformed messages and recovery
from a crashed wasm worker. Each interrupt test asserts the error, the latency, the idle status
afterwards and that state set before the interrupt survives.

Measured figures are printed (`pytest -rP tests/test_node_host.py` shows them).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import signal
import time
import uuid

import pytest
import zmq

from host_helpers import collect, wait_gone
from kernels import ROOT, require_kernel

pytestmark = pytest.mark.parametrize("kernel_name", ["kite-node"], indirect=True)

INTERRUPT_DEADLINE = 1.0  # seconds from the interrupt to the error reply


def run_until_started(kc, code: str, allow_stdin: bool = False, settle: float = 0.3) -> str:
    """Sends `code` and returns once the kernel has started running it (+ `settle` seconds)."""
    msg_id = kc.execute(code, allow_stdin=allow_stdin)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=0.5)
        except Exception:
            continue
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
            time.sleep(settle)
            return msg_id
    raise TimeoutError(f"{code!r} did not start")


def expr(kc, code: str, timeout: float = 30) -> str:
    r = collect(kc, kc.execute(code), timeout)
    assert r["reply"]["content"]["status"] == "ok", r["reply"]["content"]
    results = [m for m in r["iopub"] if m["msg_type"] == "execute_result"]
    assert results, r
    return results[-1]["content"]["data"]["text/plain"]


def assert_interrupted(kc, msg_id: str, t_interrupt: float, what: str) -> float:
    r = collect(kc, msg_id, timeout=10)
    content = r["reply"]["content"]
    latency = r["reply_time"] - t_interrupt
    print(f"[kite-node] {what}: KeyboardInterrupt reply {latency * 1000:.1f} ms after the interrupt")
    assert content["status"] == "error", content
    assert content["ename"] == "KeyboardInterrupt", content
    assert latency < INTERRUPT_DEADLINE, f"{what}: interrupted after {latency:.3f}s"
    assert r["statuses"][-1] == "idle", r["statuses"]
    errors = [m for m in r["iopub"] if m["msg_type"] == "error"]
    assert errors and errors[-1]["content"]["ename"] == "KeyboardInterrupt"
    return latency


def kernel_pid(km) -> int:
    return km.provisioner.process.pid


# ---------------------------------------------------------------------------------- basics
def test_kernel_info(started_kernel):
    km, kc = started_kernel
    t0 = time.monotonic()
    reply = kc.kernel_info(reply=True, timeout=10)
    content = reply["content"]
    print(f"[kite-node] kernel_info round trip {(time.monotonic() - t0) * 1000:.1f} ms")
    assert content["status"] == "ok"
    assert content["protocol_version"] == "5.3"
    assert content["language_info"]["name"] == "python"
    assert content["language_info"]["version"].startswith("3.11")
    # the same answer on the control channel, even while a cell runs
    msg_id = run_until_started(kc, "while True: pass")
    msg = kc.session.msg("kernel_info_request", {})
    kc.control_channel.send(msg)
    rep = kc.control_channel.get_msg(timeout=5)
    assert rep["parent_header"]["msg_id"] == msg["header"]["msg_id"]
    assert rep["content"]["language_info"]["name"] == "python"
    km.interrupt_kernel()
    collect(kc, msg_id, 10)


def test_startup_time(kernel_name):
    """Process spawn to kernel_info_reply (target <= 700 ms), measured without jupyter_client's
    own polling: connection file written, kernel started, kernel_info sent at once."""
    from jupyter_client.manager import KernelManager
    require_kernel(kernel_name)
    km = KernelManager(kernel_name=kernel_name)
    t0 = time.monotonic()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        reply = kc.kernel_info(reply=True, timeout=30)
        elapsed = time.monotonic() - t0
        print(f"[kite-node] spawn -> kernel_info_reply {elapsed * 1000:.0f} ms")
        assert reply["content"]["status"] == "ok"
        assert elapsed < 3.0  # the 700 ms target is reported above; this bound catches regressions
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def test_execute_result(started_kernel):
    _, kc = started_kernel
    t0 = time.monotonic()
    msg_id = kc.execute("1+1")
    r = collect(kc, msg_id)
    print(f"[kite-node] 1+1 round trip {(r['idle_time'] - t0) * 1000:.1f} ms")
    content = r["reply"]["content"]
    assert content["status"] == "ok"
    results = [m for m in r["iopub"] if m["msg_type"] == "execute_result"]
    assert results[0]["content"]["data"]["text/plain"] == "2"
    assert results[0]["content"]["execution_count"] == content["execution_count"]
    assert r["statuses"] == ["busy", "idle"]


def test_print_streams(started_kernel):
    _, kc = started_kernel
    r = collect(kc, kc.execute("import sys\nprint('hello')\nprint('oops', file=sys.stderr)"))
    assert r["reply"]["content"]["status"] == "ok"
    text = {"stdout": "", "stderr": ""}
    for m in r["iopub"]:
        if m["msg_type"] == "stream":
            text[m["content"]["name"]] += m["content"]["text"]
    assert text["stdout"] == "hello\n"
    assert text["stderr"] == "oops\n"


# ---------------------------------------------------------------------------------- interrupts
def test_interrupt_busy_loop(started_kernel):
    km, kc = started_kernel
    expr(kc, "x = 42; x")
    msg_id = run_until_started(kc, "while True:\n    pass")
    t0 = time.monotonic()
    km.interrupt_kernel()  # interrupt_mode "message": interrupt_request on control
    assert_interrupted(kc, msg_id, t0, "while True: pass")
    assert expr(kc, "x") == "42"


def test_interrupt_sleep(started_kernel):
    km, kc = started_kernel
    expr(kc, "import time; y = 'kept'; y")
    msg_id = run_until_started(kc, "time.sleep(600)")
    t0 = time.monotonic()
    km.interrupt_kernel()
    assert_interrupted(kc, msg_id, t0, "time.sleep(600)")
    assert expr(kc, "y") == "'kept'"


def test_interrupt_reply_on_control(started_kernel):
    _, kc = started_kernel
    msg_id = run_until_started(kc, "while True: pass")
    msg = kc.session.msg("interrupt_request", {})
    t0 = time.monotonic()
    kc.control_channel.send(msg)
    rep = kc.control_channel.get_msg(timeout=5)
    assert rep["msg_type"] == "interrupt_reply"
    assert rep["content"]["status"] == "ok"
    assert_interrupted(kc, msg_id, t0, "interrupt_request")


def test_sigint_interrupts(started_kernel):
    km, kc = started_kernel
    expr(kc, "z = [1, 2]; z")
    msg_id = run_until_started(kc, "while True:\n    pass")
    t0 = time.monotonic()
    km.signal_kernel(signal.SIGINT)
    assert_interrupted(kc, msg_id, t0, "SIGINT to the process")
    assert expr(kc, "z") == "[1, 2]"
    assert km.is_alive()


# ---------------------------------------------------------------------------------- stdin
def wait_input_request(kc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kc.stdin_channel.get_msg(timeout=0.5)
        except Exception:
            continue
        if msg["msg_type"] == "input_request":
            return msg
    raise TimeoutError("no input_request")


def test_input_round_trip(started_kernel):
    _, kc = started_kernel
    msg_id = kc.execute("name = input('who? ')", allow_stdin=True)
    req = wait_input_request(kc)
    assert req["content"]["prompt"] == "who? "
    assert req["parent_header"]["msg_id"] == msg_id
    kc.input("kite ü ✓")
    r = collect(kc, msg_id)
    assert r["reply"]["content"]["status"] == "ok", r["reply"]["content"]
    assert expr(kc, "name") == repr("kite ü ✓")


def test_input_interrupted(started_kernel):
    km, kc = started_kernel
    expr(kc, "w = 7; w")
    msg_id = kc.execute("v = input('never answered: ')", allow_stdin=True)
    wait_input_request(kc)
    time.sleep(0.2)
    t0 = time.monotonic()
    km.interrupt_kernel()
    assert_interrupted(kc, msg_id, t0, "input()")
    assert expr(kc, "w") == "7"
    # a late answer to the abandoned prompt is ignored and does not disturb the next input
    kc.input("late")
    msg_id = kc.execute("v = input('again: ')", allow_stdin=True)
    wait_input_request(kc)
    kc.input("fresh")
    assert collect(kc, msg_id)["reply"]["content"]["status"] == "ok"
    assert expr(kc, "v") == "'fresh'"


# ---------------------------------------------------------------------------------- lifetime
def test_shutdown_leaves_no_process(kernel_name):
    from jupyter_client.manager import start_new_kernel
    require_kernel(kernel_name)
    km, kc = start_new_kernel(kernel_name=kernel_name, startup_timeout=60)
    pid = kernel_pid(km)
    msg = kc.session.msg("shutdown_request", {"restart": False})
    kc.control_channel.send(msg)
    rep = kc.control_channel.get_msg(timeout=10)
    assert rep["msg_type"] == "shutdown_reply" and rep["content"]["status"] == "ok"
    t0 = time.monotonic()
    assert wait_gone(pid, 5), f"kernel process {pid} still alive after shutdown_reply"
    print(f"[kite-node] process gone {(time.monotonic() - t0) * 1000:.0f} ms after shutdown_reply")
    assert km.provisioner.process.wait(timeout=5) == 0
    kc.stop_channels()
    km.cleanup_resources()


def test_sigterm_exits(kernel_name):
    from jupyter_client.manager import start_new_kernel
    require_kernel(kernel_name)
    km, kc = start_new_kernel(kernel_name=kernel_name, startup_timeout=60)
    pid = kernel_pid(km)
    msg_id = run_until_started(kc, "while True: pass")  # a busy worker must not keep it alive
    km.signal_kernel(signal.SIGTERM)
    assert wait_gone(pid, 5)
    kc.stop_channels()
    km.cleanup_resources()


# ---------------------------------------------------------------------------------- malformed
def _frames(key: bytes, header: bytes, parent=b"{}", metadata=b"{}", content=b"{}", sig=None):
    parts = [header, parent, metadata, content]
    if sig is None:
        h = hmac.new(key, digestmod=hashlib.sha256)
        for p in parts:
            h.update(p)
        sig = h.hexdigest().encode()
    return [b"<IDS|MSG>", sig, *parts]


def _header(msg_type: str, **extra) -> bytes:
    h = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": "raw", "username": "t",
         "date": "2024-01-01T00:00:00Z", "version": "5.3", **extra}
    return json.dumps(h).encode()


def test_malformed_messages(started_kernel):
    km, kc = started_kernel
    info = km.get_connection_info()
    key = info["key"] if isinstance(info["key"], bytes) else info["key"].encode()
    ctx = zmq.Context.instance()
    results = {}
    for channel, port in (("shell", info["shell_port"]), ("control", info["control_port"])):
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(f"tcp://{info['ip']}:{port}")

        def reply(timeout=3.0):
            if s.poll(int(timeout * 1000)):
                frames = s.recv_multipart()
                i = frames.index(b"<IDS|MSG>")
                return json.loads(frames[i + 2]), json.loads(frames[i + 5])
            return None

        # 1. wrong signature: dropped (logged on stderr), no reply
        s.send_multipart(_frames(key, _header("kernel_info_request"), sig=b"0" * 64))
        assert reply(1.0) is None, f"{channel}: a badly signed message was answered"
        # 2. bad JSON in the content frame: an error reply naming the frame
        s.send_multipart(_frames(key, _header("execute_request"), content=b"{not json"))
        got = reply()
        assert got, f"{channel}: no reply to bad JSON"
        header, content = got
        assert header["msg_type"] == "execute_reply", header
        assert content["status"] == "error" and "content" in content["evalue"] and "JSON" in content["evalue"], content
        # 3. header without msg_id
        s.send_multipart(_frames(key, json.dumps({"msg_type": "kernel_info_request"}).encode()))
        got = reply()
        assert got and got[1]["status"] == "error" and "msg_id" in got[1]["evalue"], got
        # 4. unknown msg_type: <type>_reply with status error, as ipykernel does
        s.send_multipart(_frames(key, _header("frobnicate_request")))
        got = reply()
        assert got, f"{channel}: no reply to an unknown msg_type"
        assert got[0]["msg_type"] == "frobnicate_reply" and got[1]["status"] == "error", got
        assert "frobnicate_request" in got[1]["evalue"]
        # 5. too few frames / no delimiter: dropped
        s.send_multipart([b"<IDS|MSG>", b"sig"])
        s.send_multipart([b"garbage"])
        assert reply(0.5) is None
        results[channel] = "ok"
        s.close()
    # execute_request with a non-string code: the interpreter says what is wrong
    r = collect(kc, kc.execute(""), 10)  # sanity
    assert r["reply"]["content"]["status"] == "ok"
    msg = kc.session.msg("execute_request", {"code": 5, "silent": False})
    kc.shell_channel.send(msg)
    rep = kc.get_shell_msg(timeout=10)
    assert rep["content"]["status"] == "error", rep["content"]
    # and the kernel still answers
    assert kc.kernel_info(reply=True, timeout=10)["content"]["status"] == "ok"
    assert expr(kc, "1+1") == "2"
    assert km.is_alive()


# ---------------------------------------------------------------------------------- crashes
CRASH_CODE = """
import sys
sys.setrecursionlimit(10**6)
nested = []
for _ in range(10**6):
    nested = [nested]
repr(nested)
"""


def test_deep_recursion_is_recursion_error(started_kernel):
    """At the default recursion limit, deep recursion through C is a RecursionError, not a crash."""
    _, kc = started_kernel
    code = "nested = []\nfor _ in range(10**5):\n    nested = [nested]\nrepr(nested)"
    r = collect(kc, kc.execute(code), 60)
    assert r["reply"]["content"]["status"] == "error"
    assert r["reply"]["content"]["ename"] == "RecursionError", r["reply"]["content"]
    code = "class A:\n    def __getattr__(self, n):\n        return getattr(self, n)\nA().x"
    r = collect(kc, kc.execute(code), 60)
    assert r["reply"]["content"]["ename"] == "RecursionError", r["reply"]["content"]
    # lru_cache: a C wrapper between every Python level, the common notebook case
    code = "import functools\n@functools.lru_cache(None)\ndef fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)\nfib(5000)"
    r = collect(kc, kc.execute(code), 60)
    assert r["reply"]["content"]["ename"] == "RecursionError", r["reply"]["content"]
    r = collect(kc, kc.execute("def f(n): return f(n + 1)\nf(0)"), 60)
    assert r["reply"]["content"]["ename"] == "RecursionError", r["reply"]["content"]
    assert expr(kc, "__import__('sys').getrecursionlimit()") == "1000"
    assert expr(kc, "fib.cache_clear(); fib(400) > 0") == "True"


def test_wasm_crash_is_reported_and_recovered(started_kernel):
    km, kc = started_kernel
    expr(kc, "before = 1; before")
    t0 = time.monotonic()
    r = collect(kc, kc.execute(CRASH_CODE), 60)
    content = r["reply"]["content"]
    print(f"[kite-node] crash reported after {(r['reply_time'] - t0) * 1000:.0f} ms, "
          f"idle (restarted) after {(r['idle_time'] - t0) * 1000:.0f} ms")
    assert content["status"] == "error", content
    assert content["ename"] == "KernelCrashed", content
    assert "restarted" in content["evalue"] and "state is lost" in content["evalue"], content
    errors = [m for m in r["iopub"] if m["msg_type"] == "error"]
    assert errors and errors[0]["content"]["ename"] == "KernelCrashed"
    assert r["statuses"][-1] == "idle"
    # the kernel works again; its state is gone
    assert expr(kc, "1+1") == "2"
    r = collect(kc, kc.execute("before"), 10)
    assert r["reply"]["content"]["ename"] == "NameError"
    assert kc.kernel_info(reply=True, timeout=10)["content"]["status"] == "ok"
    assert km.is_alive()


# ---------------------------------------------------------------------------------- JS units
def test_controller_unit_tests(kernel_name):
    """KiteController + worker.js against a fake module (wasm/node/test): no wasm build needed."""
    import subprocess
    r = subprocess.run(["node", "--test", str(ROOT / "wasm/node/test/controller.test.mjs")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def test_other_signals_flow_through_the_buffer(kernel_name):
    """SIGUSR1 written to the buffer runs the user's handler (the cell goes on; a sleep resumes
    after it, PEP 475), and SIGINT still interrupts: real wasm build, driven by KiteController
    (no Jupyter message can carry SIGUSR1, so this goes below the kernel host)."""
    import json
    import subprocess
    dist = ROOT / "build" / "wasm" / "dist"
    if not (dist / "kite.wasm").exists():
        require_kernel(kernel_name)  # the same build produces both: fail in CI, skip locally
    r = subprocess.run(["node", str(ROOT / "wasm/node/test/real-signals.mjs"), str(dist)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["usr1Interrupt"] == {"ok": True}
    assert result["usr1Reply"] == "ok" and "usr1 [10]" in result["streams"], result
    assert result["sleepReply"] == "KeyboardInterrupt", result
    assert result["hitsAfterSleep"] == "[10, 10]", result  # the handler ran during the sleep too
