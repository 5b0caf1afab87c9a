"""Helpers for host-level kernel tests (process lifetime, collecting a request's messages).
A plain module, not conftest.py: tests/ and tests/browser/ each have a conftest, so importing
`conftest` by name is ambiguous."""
from __future__ import annotations

import os
import time


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is gone for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    """True once process `pid` no longer exists (or is a zombie) within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.02)
    return not pid_alive(pid)


def collect(kc, msg_id: str, timeout: float = 30.0) -> dict:
    """Reads shell and iopub until the reply to `msg_id` and its idle status arrived.

    Returns {"reply", "reply_time", "iopub": [msgs of that parent, minus status], "statuses",
    "idle_time", "stdin": [input_requests]} (times from time.monotonic()). Raises TimeoutError.
    """
    out = {"reply": None, "reply_time": None, "iopub": [], "statuses": [], "idle_time": None, "stdin": []}
    deadline = time.monotonic() + timeout
    while out["reply"] is None or out["idle_time"] is None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no reply/idle for {msg_id} within {timeout}s: {out}")
        got = False
        for chan, kind in ((kc.iopub_channel, "iopub"), (kc.shell_channel, "shell"), (kc.stdin_channel, "stdin")):
            while chan.msg_ready():
                got = True
                msg = chan.get_msg(timeout=0)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                now = time.monotonic()
                if kind == "shell":
                    out["reply"], out["reply_time"] = msg, now
                elif kind == "stdin":
                    out["stdin"].append(msg)
                elif msg["msg_type"] == "status":
                    out["statuses"].append(msg["content"]["execution_state"])
                    if msg["content"]["execution_state"] == "idle":
                        out["idle_time"] = now
                else:
                    out["iopub"].append(msg)
        if not got:
            time.sleep(0.002)
    return out
