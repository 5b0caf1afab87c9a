"""Shared helpers for kite's protocol-level kernel tests (conformance, interrupts, soak, malformed).

Kernel selection: ``KITE_TEST_KERNELS`` (comma list, default ``kite-node,kite-native``). Add
``python3`` (ipykernel, the reference) only by asking for it there. A kernel whose kernelspec is
missing FAILS when ``CI=true`` (the build must produce it) and is skipped locally, with the reason.

Kernelspecs are looked up with ``build/share/jupyter`` prepended to ``JUPYTER_PATH`` (what ``make``
installs), so running pytest by hand finds the same kernels as ``make test``.
"""
from __future__ import annotations

import json
import os
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
import zmq

ROOT = Path(__file__).resolve().parents[1]
BUILD_JUPYTER = ROOT / "build" / "share" / "jupyter"
REPORT_DIR = ROOT / "test-artifacts"


def _ensure_jupyter_path() -> None:
    parts = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    if str(BUILD_JUPYTER) not in parts:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([str(BUILD_JUPYTER), *parts])


_ensure_jupyter_path()

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

DEFAULT_KERNELS = "kite-node,kite-native"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def kernel_names() -> list[str]:
    raw = os.environ.get("KITE_TEST_KERNELS", DEFAULT_KERNELS)
    return [n.strip() for n in raw.split(",") if n.strip()]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def kernelspec(name: str):
    try:
        return KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return None


def require_kernel(name: str) -> None:
    """Fail (CI) or skip (locally) when the kernelspec `name` is not installed."""
    if kernelspec(name) is not None:
        return
    reason = (
        f"kernelspec {name!r} not found (JUPYTER_PATH={os.environ.get('JUPYTER_PATH')}); "
        "build it with `make`"
    )
    if in_ci():
        pytest.fail(reason + " [CI=true: the build is supposed to produce it]", pytrace=False)
    pytest.skip(reason)


def interrupt_mode(name: str) -> str:
    spec = kernelspec(name)
    return getattr(spec, "interrupt_mode", "signal") if spec else "signal"


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def report(kind: str, **data: Any) -> None:
    """Record a measured figure (message counts, soak stats) for the human reading the run.

    Appended as JSON lines to test-artifacts/kernel-tests.jsonl and printed (pytest -rP / -s).
    """
    line = json.dumps({"kind": kind, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), **data})
    print(f"[kite-report] {line}")
    try:
        REPORT_DIR.mkdir(exist_ok=True)
        with open(REPORT_DIR / "kernel-tests.jsonl", "a") as f:
            f.write(line + "\n")
    except OSError:
        pass


@dataclass
class Result:
    """Everything a kernel sent for one request: the shell reply and the iopub messages."""

    msg_id: str
    reply: dict | None = None
    reply_time: float | None = None  # time.monotonic() when the reply was read
    iopub: list[dict] = field(default_factory=list)  # excluding status and execute_input
    statuses: list[str] = field(default_factory=list)
    execute_input: list[dict] = field(default_factory=list)
    idle: bool = False
    idle_time: float | None = None
    stdin: list[dict] = field(default_factory=list)

    @property
    def content(self) -> dict:
        assert self.reply is not None, f"no reply for {self.msg_id}"
        return self.reply["content"]

    @property
    def status(self) -> str:
        return self.content["status"]

    def of_type(self, *types: str) -> list[dict]:
        return [m for m in self.iopub if m["msg_type"] in types]

    def stream_text(self, name: str = "stdout") -> str:
        return "".join(
            m["content"]["text"] for m in self.iopub
            if m["msg_type"] == "stream" and m["content"]["name"] == name
        )

    def errors(self) -> list[dict]:
        return self.of_type("error")

    def done(self) -> bool:
        return self.reply is not None and self.idle

    def describe(self) -> str:
        parts = [f"reply={self.reply and self.reply['content']!r:.600}",
                 f"statuses={self.statuses}",
                 f"iopub={[m['msg_type'] for m in self.iopub][:40]}"]
        return " ".join(parts)


class Kernel:
    """A started kernel plus a client that demultiplexes shell/iopub/stdin by parent msg_id."""

    def __init__(self, name: str, km: KernelManager, kc) -> None:
        self.name = name
        self.km = km
        self.kc = kc
        self.results: dict[str, Result] = {}
        self.stray: list[dict] = []  # messages whose parent we never asked about

    # -- life cycle -----------------------------------------------------------------------------
    @classmethod
    def start(cls, name: str, startup_timeout: float = 120) -> "Kernel":
        require_kernel(name)
        km = KernelManager(kernel_name=name)
        km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=startup_timeout)
        except Exception:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
            raise
        return cls(name, km, kc)

    def shutdown(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=False)

    def restart(self) -> None:
        self.kc.stop_channels()
        self.km.restart_kernel(now=True)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        self.results.clear()

    @property
    def interrupt_mode(self) -> str:
        return self.km.kernel_spec.interrupt_mode if self.km.kernel_spec else "signal"

    # -- message pump ---------------------------------------------------------------------------
    def _result(self, msg_id: str) -> Result:
        if msg_id not in self.results:
            self.results[msg_id] = Result(msg_id)
        return self.results[msg_id]

    def pump(self, timeout: float) -> bool:
        """Read whatever arrives on shell, iopub and stdin within `timeout`; True if anything."""
        chans = {
            self.kc.shell_channel.socket: ("shell", self.kc.shell_channel),
            self.kc.iopub_channel.socket: ("iopub", self.kc.iopub_channel),
            self.kc.stdin_channel.socket: ("stdin", self.kc.stdin_channel),
        }
        poller = zmq.Poller()
        for s in chans:
            poller.register(s, zmq.POLLIN)
        events = dict(poller.poll(int(timeout * 1000)))
        got = False
        for sock, (kind, chan) in chans.items():
            if sock not in events:
                continue
            while chan.msg_ready():
                msg = chan.get_msg(timeout=0)
                got = True
                self._dispatch(kind, msg)
        return got

    def _dispatch(self, kind: str, msg: dict) -> None:
        now = time.monotonic()
        parent = (msg.get("parent_header") or {}).get("msg_id")
        if not parent:
            self.stray.append(msg)
            return
        r = self._result(parent)
        if kind == "shell":
            r.reply = msg
            r.reply_time = now
        elif kind == "stdin":
            r.stdin.append(msg)
        else:
            t = msg["msg_type"]
            if t == "status":
                state = msg["content"]["execution_state"]
                r.statuses.append(state)
                if state == "idle":
                    r.idle = True
                    r.idle_time = now
            elif t == "execute_input":
                r.execute_input.append(msg)
            else:
                r.iopub.append(msg)

    def wait_for(self, pred: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.pump(min(left, 0.05))
        return True

    # -- requests -------------------------------------------------------------------------------
    def send_execute(self, code: str, **kw: Any) -> str:
        kw.setdefault("allow_stdin", False)
        msg_id = self.kc.execute(code, **kw)
        self._result(msg_id)
        return msg_id

    def collect(self, msg_id: str, timeout: float = 30, need_idle: bool = True) -> Result:
        r = self._result(msg_id)
        self.wait_for(lambda: r.reply is not None and (r.idle or not need_idle), timeout)
        if need_idle and r.reply is not None and not r.idle:
            # idle may trail the reply a little
            self.wait_for(lambda: r.idle, 5)
        return r

    def execute(self, code: str, timeout: float = 30, **kw: Any) -> Result:
        return self.collect(self.send_execute(code, **kw), timeout)

    def execute_ok(self, code: str, timeout: float = 30, **kw: Any) -> Result:
        r = self.execute(code, timeout, **kw)
        assert r.reply is not None, f"[{self.name}] no execute_reply within {timeout}s for {code!r}"
        assert r.status == "ok", f"[{self.name}] {code!r} failed: {r.describe()}"
        return r

    def expr(self, expression: str, timeout: float = 30) -> str:
        """text/plain of the execute_result of `expression`."""
        r = self.execute_ok(expression, timeout)
        res = r.of_type("execute_result")
        assert res, f"[{self.name}] no execute_result for {expression!r}: {r.describe()}"
        return res[-1]["content"]["data"]["text/plain"]

    def request(self, channel: str, msg_type: str, content: dict, timeout: float = 15) -> dict | None:
        chan = getattr(self.kc, f"{channel}_channel")
        msg = self.kc.session.msg(msg_type, content)
        r = self._result(msg["header"]["msg_id"])
        chan.send(msg)
        if channel == "control":
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    rep = chan.get_msg(timeout=0.05)
                except Exception:
                    self.pump(0)
                    continue
                if rep["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                    return rep
            return None
        self.wait_for(lambda: r.reply is not None, timeout)
        return r.reply

    def kernel_info(self, timeout: float = 15) -> dict | None:
        return self.request("shell", "kernel_info_request", {}, timeout)

    # -- interrupts -----------------------------------------------------------------------------
    def other_interrupt_path(self) -> str:
        """The interrupt path that is NOT the kernelspec's interrupt_mode."""
        return "sigint" if self.interrupt_mode == "message" else "control"

    def interrupt(self, path: str = "mode") -> None:
        """mode: KernelManager.interrupt_kernel() (as a frontend would, per interrupt_mode);
        control: an explicit interrupt_request on the control channel (reply not awaited);
        sigint: SIGINT to the kernel process (group), whatever its interrupt_mode."""
        if path == "mode":
            self.km.interrupt_kernel()
        elif path == "control":
            self.kc.control_channel.send(self.kc.session.msg("interrupt_request", {}))
        elif path == "sigint":
            self.km.signal_kernel(signal.SIGINT)
        else:
            raise ValueError(path)

    def drain_control(self) -> list[dict]:
        out = []
        while self.kc.control_channel.msg_ready():
            out.append(self.kc.control_channel.get_msg(timeout=0))
        return out

    # -- recovery -------------------------------------------------------------------------------
    def ensure_responsive(self) -> None:
        """Make sure the kernel answers (after a failed test left a cell running): interrupt,
        then restart as a last resort, so one failure does not cascade into every later test."""
        self.pump(0)
        if not self.km.is_alive():
            self.restart()
            return
        if self.kernel_info(timeout=5) is not None:
            self._drain(0.2)
            return
        for _ in range(3):
            self.interrupt("mode")
            if self.kernel_info(timeout=5) is not None:
                self._drain(0.5)
                return
        self.restart()

    def _drain(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.pump(0.05)
        self.drain_control()


def kernel_fixture(scope: str = "module"):
    """A pytest fixture (parametrised over kernel_names()) yielding a started `Kernel`."""

    @pytest.fixture(scope=scope, params=kernel_names())
    def _kernel(request):
        k = Kernel.start(request.param)
        try:
            yield k
        finally:
            k.shutdown()

    return _kernel


# Shared fixtures; import them into a test module: `from kernels import kernel, k`.
kernel = kernel_fixture("module")


@pytest.fixture
def k(kernel: Kernel) -> Kernel:
    """The module's kernel, checked responsive before each test."""
    kernel.ensure_responsive()
    return kernel
