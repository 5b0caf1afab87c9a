"""The one jupyter_client driver of kite's kernel tests and benchmarks: start a kernel, send
requests on any channel (with binary buffers), and sort everything the kernel sends into one
`Result` per request (shell/control reply, iopub messages, stdin requests, arrival times).

No pytest here: bench/kernels.py imports it by path. Kernel selection and the pytest fixtures
live in tests/kernels.py, which re-exports this module.
"""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import zmq
from jupyter_client.manager import KernelManager

clock = time.monotonic


@dataclass
class Result:
    """Everything a kernel sent for one request: the reply and the iopub/stdin messages."""

    msg_id: str
    sent_time: float | None = None   # clock() just before the request was sent
    reply: dict | None = None
    reply_time: float | None = None  # clock() when the reply was read
    iopub: list[dict] = field(default_factory=list)  # excluding status and execute_input
    iopub_times: list[float] = field(default_factory=list)  # clock() of each `iopub` entry
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
    """A started kernel plus a client that demultiplexes shell/control/iopub/stdin by parent
    msg_id. Set `trace` to a list to also record every message as (channel, msg)."""

    def __init__(self, name: str, km: KernelManager, kc) -> None:
        self.name = name
        self.km = km
        self.kc = kc
        self.results: dict[str, Result] = {}
        self.stray: list[dict] = []  # messages without a parent header
        self.trace: list[tuple[str, dict]] | None = None
        self.iopub_count = 0
        self.spawned_at: float | None = None
        self.startup_seconds: float | None = None  # spawn -> first kernel_info_reply
        self.info: dict | None = None  # kernel_info_reply content
        self._log = None

    # -- life cycle -----------------------------------------------------------------------------
    @classmethod
    def spawn(cls, name: str, log: Path | None = None, **start_kw: Any) -> "Kernel":
        """Start the kernel process and the client's channels; not yet known to answer.
        `log`: append the kernel's stdout/stderr to this file. `start_kw`: KernelManager.start_kernel
        keywords (env, cwd)."""
        km = KernelManager(kernel_name=name)
        kw, out = dict(start_kw), None
        if log is not None:
            Path(log).parent.mkdir(parents=True, exist_ok=True)
            out = open(log, "ab")
            kw.update(stdout=out, stderr=out)
        t0 = clock()
        km.start_kernel(**kw)
        kc = km.client()
        kc.start_channels()
        k = cls(name, km, kc)
        k.spawned_at, k._log = t0, out
        return k

    @classmethod
    def start(cls, name: str, startup_timeout: float = 120, log: Path | None = None,
              **start_kw: Any) -> "Kernel":
        k = cls.spawn(name, log, **start_kw)
        try:
            k.wait_ready(startup_timeout)
        except BaseException:
            k.shutdown(now=True)
            raise
        return k

    def wait_ready(self, timeout: float = 120) -> None:
        """kernel_info_request until one is answered and iopub carries messages (a kernel that
        answers before our iopub subscription is up would lose the next request's statuses).
        Sets startup_seconds (from spawn to the first reply) and info."""
        deadline = clock() + timeout
        sent: list[str] = []
        first: Result | None = None
        while clock() < deadline:
            if not self.km.is_alive():
                raise RuntimeError(f"[{self.name}] kernel process died during start-up")
            sent.append(self.send("shell", "kernel_info_request", {}))
            self.wait_for(lambda: any(self.results[i].reply for i in sent), min(1.0, timeout))
            answered = [self.results[i] for i in sent if self.results[i].reply]
            if not answered:
                continue
            if first is None:
                first = min(answered, key=lambda r: r.reply_time)
                self.info = first.content
                if self.spawned_at is not None:
                    self.startup_seconds = first.reply_time - self.spawned_at
            if self.wait_for(lambda: self.iopub_count > 0, 0.2):
                for i in sent:
                    self.results.pop(i, None)
                return
        if first is None:
            raise TimeoutError(f"[{self.name}] no kernel_info_reply within {timeout}s")
        raise TimeoutError(f"[{self.name}] kernel_info answered, but nothing on iopub within {timeout}s")

    def shutdown(self, now: bool = False) -> None:
        try:
            self.kc.stop_channels()
            self.km.shutdown_kernel(now=now)
        except Exception:
            if now:
                raise
            self.km.shutdown_kernel(now=True)
        finally:
            if self._log is not None:
                self._log.close()

    def restart(self) -> None:
        self.kc.stop_channels()
        self.km.restart_kernel(now=True)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.results.clear()
        self.iopub_count = 0
        self.spawned_at = None
        self.wait_ready(120)

    @property
    def pid(self) -> int:
        return self.km.provisioner.process.pid

    @property
    def interrupt_mode(self) -> str:
        return self.km.kernel_spec.interrupt_mode if self.km.kernel_spec else "signal"

    # -- message pump ---------------------------------------------------------------------------
    def _result(self, msg_id: str) -> Result:
        if msg_id not in self.results:
            self.results[msg_id] = Result(msg_id)
        return self.results[msg_id]

    def pump(self, timeout: float) -> bool:
        """Read whatever arrives on shell, control, iopub and stdin within `timeout`; True if
        anything did."""
        chans = {c.socket: (kind, c) for kind, c in (
            ("shell", self.kc.shell_channel), ("control", self.kc.control_channel),
            ("iopub", self.kc.iopub_channel), ("stdin", self.kc.stdin_channel))}
        poller = zmq.Poller()
        for s in chans:
            poller.register(s, zmq.POLLIN)
        events = dict(poller.poll(int(timeout * 1000)))
        got = False
        for sock, (kind, chan) in chans.items():
            if sock not in events:
                continue
            while chan.msg_ready():
                self._dispatch(kind, chan.get_msg(timeout=0))
                got = True
        return got

    def _dispatch(self, kind: str, msg: dict) -> None:
        now = clock()
        if self.trace is not None:
            self.trace.append((kind, msg))
        if kind == "iopub":
            self.iopub_count += 1
        parent = (msg.get("parent_header") or {}).get("msg_id")
        if not parent:
            self.stray.append(msg)
            return
        r = self._result(parent)
        if kind in ("shell", "control"):
            r.reply, r.reply_time = msg, now
        elif kind == "stdin":
            r.stdin.append(msg)
        elif msg["msg_type"] == "status":
            state = msg["content"]["execution_state"]
            r.statuses.append(state)
            if state == "idle":
                r.idle, r.idle_time = True, now
        elif msg["msg_type"] == "execute_input":
            r.execute_input.append(msg)
        else:
            r.iopub.append(msg)
            r.iopub_times.append(now)

    def wait_for(self, pred: Callable[[], bool], timeout: float) -> bool:
        """Pump until pred() holds (True) or `timeout` passed (False)."""
        deadline = clock() + timeout
        while not pred():
            left = deadline - clock()
            if left <= 0:
                return False
            self.pump(min(left, 0.05))
        return True

    def idle_for(self, seconds: float) -> None:
        """Keep reading for `seconds` (instead of sleeping, so no message waits in a queue)."""
        self.wait_for(lambda: False, seconds)

    # -- requests -------------------------------------------------------------------------------
    def send(self, channel: str, msg_type: str, content: dict, buffers: list | None = None,
             metadata: dict | None = None) -> str:
        """Send a request on shell/control/stdin; returns its msg_id (its Result is ready)."""
        chan = getattr(self.kc, f"{channel}_channel")
        msg = self.kc.session.msg(msg_type, content, metadata=metadata)
        r = self._result(msg["header"]["msg_id"])
        r.sent_time = clock()
        self.kc.session.send(chan.socket, msg, buffers=buffers)
        return r.msg_id

    def send_execute(self, code: str, **kw: Any) -> str:
        kw.setdefault("allow_stdin", False)
        content = {"code": code, "silent": False, "store_history": True,
                   "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}
        content.update(kw)
        return self.send("shell", "execute_request", content)

    def collect(self, msg_id: str, timeout: float = 30, need_idle: bool = True) -> Result:
        r = self._result(msg_id)
        self.wait_for(lambda: r.reply is not None and (r.idle or not need_idle), timeout)
        if need_idle and r.reply is not None and not r.idle:
            self.wait_for(lambda: r.idle, 5)  # idle may trail the reply a little
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

    def start_cell(self, code: str, stdin: bool = False, timeout: float = 30, **kw: Any) -> str:
        """Send a cell and return its msg_id once it runs (execute_input seen, or with `stdin`
        its input_request); asserts it has not ended yet."""
        msg_id = self.send_execute(code, allow_stdin=stdin, **kw)
        r = self.results[msg_id]
        if stdin:
            ok = self.wait_for(lambda: bool(r.stdin) or r.reply is not None, timeout)
            assert ok and r.stdin, f"[{self.name}] no input_request: {r.describe()}"
        else:
            ok = self.wait_for(lambda: bool(r.execute_input) or r.reply is not None, timeout)
            assert ok and r.execute_input, f"[{self.name}] cell did not start: {r.describe()}"
        assert r.reply is None, f"[{self.name}] cell ended before it was expected to: {r.describe()}"
        return msg_id

    def request(self, channel: str, msg_type: str, content: dict, timeout: float = 15,
                buffers: list | None = None) -> dict | None:
        """Send a request and return its reply (None if none came within `timeout`)."""
        r = self.results[self.send(channel, msg_type, content, buffers)]
        self.wait_for(lambda: r.reply is not None, timeout)
        return r.reply

    def kernel_info(self, timeout: float = 15, channel: str = "shell") -> dict | None:
        return self.request(channel, "kernel_info_request", {}, timeout)

    def input(self, text: str) -> None:
        self.kc.input(text)

    # -- interrupts -----------------------------------------------------------------------------
    def other_interrupt_path(self) -> str:
        """The interrupt path that is NOT the kernelspec's interrupt_mode."""
        return "sigint" if self.interrupt_mode == "message" else "control"

    def interrupt(self, path: str = "mode") -> str | None:
        """mode: KernelManager.interrupt_kernel() (as a frontend would, per interrupt_mode);
        control: an interrupt_request on the control channel (returns its msg_id; the reply
        lands in its Result); sigint: SIGINT to the kernel process (group), whatever its mode."""
        if path == "mode":
            self.km.interrupt_kernel()
        elif path == "control":
            return self.send("control", "interrupt_request", {})
        elif path == "sigint":
            self.km.signal_kernel(signal.SIGINT)
        else:
            raise ValueError(path)
        return None

    # -- recovery -------------------------------------------------------------------------------
    def ensure_responsive(self) -> None:
        """Make sure the kernel answers (after a failed test left a cell running): interrupt,
        then restart as a last resort, so one failure does not cascade into every later test."""
        self.pump(0)
        if not self.km.is_alive():
            self.restart()
            return
        if self.kernel_info(timeout=5) is not None:
            self.idle_for(0.2)
            return
        for _ in range(3):
            self.interrupt("mode")
            if self.kernel_info(timeout=5) is not None:
                self.idle_for(0.5)
                return
        self.restart()


# -- processes ----------------------------------------------------------------------------------
def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is gone for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    """True once process `pid` no longer exists (or is a zombie) within `timeout` seconds."""
    deadline = clock() + timeout
    while clock() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.02)
    return not pid_alive(pid)
