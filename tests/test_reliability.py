"""Reliability under races, hostile input and load (issue 14, item 3): an interrupt soak at random
moments, a message fuzzer and a memory check, on every kite host (and ipykernel's soak figures
for reference).

Knobs (environment; `make soak` raises them):
- KITE_SOAK_ROUNDS (default 1000): interrupt soak rounds per kite host; KITE_SOAK_REF_ROUNDS
  (default 200): rounds for ipykernel (`python3`, only when KITE_TEST_KERNELS names it).
- KITE_SOAK_SEED / KITE_FUZZ_SEED: replay a run (the seed is printed and reported).
- KITE_FUZZ_MESSAGES (default 2000): fuzzed messages per host.
- KITE_MEMORY_CELLS (default 2000): small cells of the memory check.

Figures go to test-artifacts/kernel-tests.jsonl (kinds `reliability_soak`, `reliability_fuzz`,
`reliability_memory`) and are printed (`pytest -s` / `-rP`).

**Soak** (`test_interrupt_soak`): per round a cell drawn at random (busy loop, `time.sleep`,
naive recursion, a printing loop, `input()` with nobody answering, an import of a freshly written
module that keeps re-importing stdlib modules, and cells that end by themselves within a few ms),
then an interrupt 0-30 ms after the execute_request was sent: an `interrupt_request` on control
(the client's socket, or KernelManager's as a frontend sends it) and, for signal-mode kernels,
also SIGINT through `KernelManager.interrupt_kernel()`. Then a check cell (`soak_checks += 1`)
and a complete/inspect/is_complete request, sent either right after the interrupt (queued behind
the interrupted cell, "pipelined") or after its reply and idle ("after"). Cells run with
stop_on_error=False so the queued check cell is not aborted. Counted:
- lost: a cell that should stop did not reply within 5 s of the interrupt (a second interrupt is
  sent then). Signal mode's documented rule (native/README.md, "What is guaranteed") is that a
  SIGINT reaches the cell that runs when it arrives once the kernel has begun it, and a SIGINT
  that arrives before that is dropped (a signal carries no date): a SIGINT sent before the
  client saw the cell's `execute_input` that did not stop it within 1 s is counted apart
  (`sigint_before_start`, allowed), one sent after is held to the 5 s rule.
- hangs: no reply, or no idle, within 10 s of the (first) interrupt.
- leaks: the next cell, or a complete/inspect/is_complete request sent after the interrupt,
  fails with KeyboardInterrupt (an interrupt applies to the cells sent before it only).
- dead: the kernel process died. Also counted: wrong replies (an error other than
  KeyboardInterrupt, or ok from a cell that cannot end), interrupt_requests without reply.
All must be 0 on kite hosts; the latency interrupt sent -> KeyboardInterrupt execute_reply
(p50/p99/max) is reported.

**Fuzz** (`test_message_fuzz`): mutated valid messages over raw pyzmq with the connection file's
key, see `mutate()`. Every message the kernel must answer (validly signed over its four frames,
header a JSON object with string `msg_id` and `msg_type` ending in `_request`) needs a reply within
10 s; everything the kernel sends (replies and iopub) must be a signed message whose header, parent
header and content are JSON objects; after every 100 messages kernel_info and `1 + 1` are answered
and a variable set at the start kept its value (over the raw sockets: the driver's jupyter_client
channels are stopped meanwhile, since the kernel echoes hostile headers, e.g. nested 100,000
deep, as parent_header, which Python's json cannot decode). Mostly one request at a time, 20 %
in bursts; after 5 unanswered requests the replies are awaited per batch of 100 (bounded time).

**Memory** (`test_memory_bounded`): RSS of the kernel process and its descendants (kite-node's
worker is a thread: its memory is the process's) at start, after KITE_MEMORY_CELLS small cells,
after one 20 MB execute_request and after REPEATS more; limits (from measurements, see the
constants) bound the growth per small cell, for the first large message and for the repeats.

A kernel that crashes during the fuzz is restarted (up to MAX_CRASHES times, to find more) and the
messages sent just before each death are reported; the test fails on any crash.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest
import zmq

from kernels import Kernel, clock, kernel_names, report, start_kernel

SOAK_ROUNDS = int(os.environ.get("KITE_SOAK_ROUNDS", "1000"))
REF_ROUNDS = int(os.environ.get("KITE_SOAK_REF_ROUNDS", "200"))
FUZZ_MESSAGES = int(os.environ.get("KITE_FUZZ_MESSAGES", "2000"))
MEMORY_CELLS = int(os.environ.get("KITE_MEMORY_CELLS", "2000"))

REFERENCE = "python3"  # ipykernel: measured for comparison, never asserted
KITE_HOSTS = [n for n in kernel_names() if n != REFERENCE]


def _seed(var: str) -> int:
    env = os.environ.get(var)
    return int(env) if env else int(time.time() * 1000) % 1_000_000


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    return s[min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))]


# =========================================================================== interrupt soak
SOAK_SETUP = r'''
import importlib, os, sys, tempfile, time
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
soak_state = 41
soak_checks = 0
soak_dir = tempfile.mkdtemp(prefix="kite_soak_")
sys.path.insert(0, soak_dir)
SOAK_MODULE = """
import importlib, sys
_fresh = ("json", "email", "csv", "textwrap", "fractions", "string", "shlex")
for _n in [n for n in list(sys.modules) if n.split(".")[0] in _fresh]:
    del sys.modules[_n]
import json, email.parser, csv, textwrap, fractions, string, shlex
while True:
    importlib.reload(json); importlib.reload(textwrap); importlib.reload(shlex)
"""
def soak_import(n):
    name = "kite_soak_mod_%d" % n
    with open(os.path.join(soak_dir, name + ".py"), "w") as f:
        f.write(SOAK_MODULE)
    importlib.invalidate_caches()
    importlib.import_module(name)
'''


@dataclass
class SoakCase:
    name: str
    code: str
    stops: bool = True   # never ends by itself: the interrupt must stop it
    stdin: bool = False


SOAK_CASES = [
    SoakCase("busy", "while True:\n    pass"),
    SoakCase("sleep", "time.sleep(600)"),
    SoakCase("fib", "fib(100)"),
    SoakCase("print", "_i = 0\nwhile True:\n    print(_i)\n    _i += 1"),
    SoakCase("input", "input('soak> ')", stdin=True),
    SoakCase("import", "soak_import({n})"),
    # cells that normally end before the interrupt arrives
    SoakCase("quick_sum", "_x = sum(range(3000))", stops=False),
    SoakCase("quick_pass", "pass", stops=False),
    SoakCase("quick_print", "print('quick')", stops=False),
    SoakCase("quick_sleep", "time.sleep(0.002)", stops=False),
]
FOLLOW_UPS = [
    ("complete_request", {"code": "soak_st", "cursor_pos": 7}),
    ("inspect_request", {"code": "fib", "cursor_pos": 3, "detail_level": 0}),
    ("is_complete_request", {"code": "for i in range(3):"}),
]
LOST_AFTER = 5.0         # a cell that should stop and did not reply by then: lost
HANG_AFTER = 10.0        # no reply / no idle by then: hang
PRESTART_WAIT = 1.0      # SIGINT sent before execute_input was seen: documented drop after this
MAX_FAILURES = 25        # lost + hangs + dead (10 s each): then stop rather than spend the CI budget


def _paths(k: Kernel) -> list[str]:
    """How interrupts are sent: `control` = interrupt_request on the client's control socket
    (reply checked), `mode` = KernelManager.interrupt_kernel() (interrupt_request from its own
    socket in message mode, SIGINT in signal mode)."""
    return ["control", "mode"]


@dataclass
class SoakStats:
    rounds: int = 0
    per_case: dict[str, int] = field(default_factory=dict)
    per_path: dict[str, int] = field(default_factory=dict)
    lost: list = field(default_factory=list)
    hangs: list = field(default_factory=list)
    leaks: list = field(default_factory=list)
    dead: list = field(default_factory=list)
    wrong: list = field(default_factory=list)
    unanswered_interrupts: list = field(default_factory=list)
    sigint_before_start: int = 0
    quick_interrupted: int = 0   # cells meant to end first that the interrupt still caught
    latencies: list = field(default_factory=list)

    def expensive(self) -> int:
        return len(self.lost) + len(self.hangs) + len(self.dead)

    def failures(self) -> int:
        return (len(self.lost) + len(self.hangs) + len(self.leaks) + len(self.dead)
                + len(self.wrong) + len(self.unanswered_interrupts))

    def summary(self) -> dict:
        lat = [x * 1000 for x in self.latencies]
        return {
            "rounds": self.rounds, "lost": len(self.lost), "hangs": len(self.hangs),
            "leaks": len(self.leaks), "dead": len(self.dead), "wrong": len(self.wrong),
            "unanswered_interrupts": len(self.unanswered_interrupts),
            "sigint_before_start": self.sigint_before_start,
            "quick_interrupted": self.quick_interrupted,
            "latency_ms": {"n": len(lat), "p50": round(percentile(lat, 50), 1),
                           "p99": round(percentile(lat, 99), 1),
                           "max": round(max(lat), 1) if lat else None},
            "per_case": self.per_case, "per_path": self.per_path,
        }


def _recover(k: Kernel, r, path: str, stats: SoakStats, what: tuple, t0: float) -> bool:
    """The cell did not stop: interrupt again (until HANG_AFTER after the first interrupt).
    Returns True if it replied; otherwise counts a hang or a dead kernel."""
    tries = 0
    while r.reply is None and clock() - t0 < HANG_AFTER:
        if not k.km.is_alive():
            break
        # re-send only once the cell has visibly begun (a SIGINT before that may be dropped)
        k.wait_for(lambda: bool(r.execute_input) or r.reply is not None, 1.0)
        if r.reply is None:
            k.interrupt("control" if tries % 2 == 0 else path)
            tries += 1
        k.wait_for(lambda: r.reply is not None, min(1.5, max(0.05, HANG_AFTER - (clock() - t0))))
    if r.reply is not None:
        return True
    if not k.km.is_alive():
        stats.dead.append(what)
    else:
        stats.hangs.append(what)
    return False  # the caller restarts the kernel


def run_soak(k: Kernel, rounds: int, seed: int) -> SoakStats:
    rng = random.Random(seed)
    stats = SoakStats()
    k.execute_ok(SOAK_SETUP)
    checks = 0  # check cells that replied ok (soak_checks must be at least that)
    maybe_ran = 0  # check cells that were interrupted (their increment may have run)
    paths = _paths(k)
    signal_mode = k.interrupt_mode == "signal"

    def restarted() -> None:
        nonlocal checks, maybe_ran
        k.restart()
        k.execute_ok(SOAK_SETUP)
        checks = maybe_ran = 0
        k.results.clear()

    for i in range(rounds):
        case = rng.choice(SOAK_CASES)
        path = rng.choice(paths)
        delay = rng.uniform(0.0, 0.030)
        follow = rng.choice(FOLLOW_UPS)
        follow_first = rng.random() < 0.5
        # pipelined: the next cell and request are sent right after the interrupt, before the
        # interrupted cell replied (they queue behind it, as when a user interrupts and runs the
        # next cell at once); else after that reply and idle
        pipelined = rng.random() < 0.5
        stats.per_case[case.name] = stats.per_case.get(case.name, 0) + 1
        stats.per_path[path] = stats.per_path.get(path, 0) + 1
        what = (i, case.name, path, round(delay * 1000, 1), "pipelined" if pipelined else "after")

        # stop_on_error=False: the interrupted cell must not abort the cells queued behind it
        # (that is stop_on_error's job, not the interrupt's; the leak check needs them to run)
        msg_id = k.send_execute(case.code.format(n=i), allow_stdin=case.stdin, stop_on_error=False)
        r = k.results[msg_id]
        k.wait_for(lambda: False, delay - (clock() - r.sent_time))
        began = bool(r.execute_input)
        t0 = clock()
        ctl = k.interrupt(path)
        sigint = signal_mode and path == "mode"

        def send_follow_ups() -> tuple[str, str]:
            if follow_first:
                f = k.send("shell", follow[0], follow[1])
                return f, k.send_execute("soak_checks += 1")
            c = k.send_execute("soak_checks += 1")
            return k.send("shell", follow[0], follow[1]), c

        f_id = c_id = None
        if pipelined:
            f_id, c_id = send_follow_ups()
        reinterrupted = False
        if case.stops:
            first_wait = PRESTART_WAIT if (sigint and not began) else LOST_AFTER
            k.wait_for(lambda: r.reply is not None, first_wait)
            if r.reply is None:
                if sigint and not began:
                    stats.sigint_before_start += 1
                else:
                    # where the cell was: begun when interrupted / at the 5 s mark, input asked
                    stats.lost.append(what + (
                        f"began={'before' if began else 'after' if r.execute_input else 'never'}"
                        f" input_request={bool(r.stdin)} statuses={r.statuses}",))
                reinterrupted = True
                if not _recover(k, r, path, stats, what, t0):
                    restarted()
                    if stats.expensive() >= MAX_FAILURES:
                        break
                    continue
            elif r.content.get("ename") == "KeyboardInterrupt":
                stats.latencies.append(r.reply_time - t0)
            else:
                stats.wrong.append(what + (f"{r.status} {r.content.get('ename')}",))
        else:
            k.wait_for(lambda: r.reply is not None, HANG_AFTER)
            if r.reply is None:
                (stats.dead if not k.km.is_alive() else stats.hangs).append(what)
                restarted()
                continue
            if r.status == "error":
                if r.content.get("ename") == "KeyboardInterrupt":
                    stats.quick_interrupted += 1
                else:
                    stats.wrong.append(what + (f"{r.status} {r.content.get('ename')}",))
        if not k.wait_for(lambda: r.idle, max(0.1, HANG_AFTER - (clock() - t0))):
            stats.hangs.append(what + ("no idle",))

        # leaks: requests sent after the interrupt must not see it
        if not pipelined:
            f_id, c_id = send_follow_ups()
        fr, cr = k.results[f_id], k.results[c_id]
        t1 = clock()
        k.wait_for(lambda: fr.reply is not None and cr.reply is not None and cr.idle, HANG_AFTER)
        dead = False
        for res, label in ((cr, "next cell"), (fr, follow[0])):
            if res.reply is None:
                dead = dead or not k.km.is_alive()
                (stats.dead if dead else stats.hangs).append(
                    what + (label, f"no reply in {clock() - t1:.1f} s"))
            elif res.content.get("status") == "error" or (res is cr and res.status != "ok"):
                bad = what + (label, res.content.get("ename"), str(res.content.get("evalue"))[:100])
                if res.content.get("ename") != "KeyboardInterrupt":
                    stats.wrong.append(bad)
                elif not (res is cr and pipelined and reinterrupted):
                    # (a cell queued before a re-sent interrupt may rightly be interrupted)
                    stats.leaks.append(bad)
            elif res is cr:
                checks += 1
        if cr.reply is not None and cr.content.get("ename") == "KeyboardInterrupt":
            maybe_ran += 1  # interrupted, possibly after `soak_checks += 1` ran
        if ctl is not None:
            c = k.results[ctl]
            if not k.wait_for(lambda: c.reply is not None, HANG_AFTER):
                stats.unanswered_interrupts.append(what)
        k.results.clear()
        stats.rounds = i + 1
        if fr.reply is None or cr.reply is None:
            restarted()
        if stats.expensive() >= MAX_FAILURES:
            break
    # state survived and every check cell ran once
    if k.km.is_alive():
        state, got = k.expr("soak_state", timeout=15), int(k.expr("soak_checks", timeout=15))
        if state != "41" or not checks <= got <= checks + maybe_ran:
            stats.wrong.append(("final state", state, got, (41, checks, checks + maybe_ran)))
    return stats


@pytest.mark.parametrize("name", kernel_names())
def test_interrupt_soak(name: str) -> None:
    rounds = REF_ROUNDS if name == REFERENCE else SOAK_ROUNDS
    seed = _seed("KITE_SOAK_SEED")
    print(f"[soak] kernel={name} seed={seed} rounds={rounds} (rerun: KITE_SOAK_SEED={seed})")
    k = start_kernel(name)
    t_start = clock()
    try:
        stats = run_soak(k, rounds, seed)
        alive = k.km.is_alive()
    finally:
        k.shutdown()
    seconds = round(clock() - t_start, 1)
    summary = stats.summary()
    report("reliability_soak", kernel=name, seed=seed, seconds=seconds, **summary,
           lost_rounds=stats.lost[:10], hang_rounds=stats.hangs[:10], leak_rounds=stats.leaks[:10],
           dead_rounds=stats.dead[:10], wrong_rounds=stats.wrong[:10],
           unanswered_interrupt_rounds=stats.unanswered_interrupts[:10])
    detail = (f"[{name}] seed={seed}: {summary} lost={stats.lost[:10]} hangs={stats.hangs[:10]} "
              f"leaks={stats.leaks[:10]} dead={stats.dead[:10]} wrong={stats.wrong[:10]} "
              f"unanswered interrupts={stats.unanswered_interrupts[:10]}")
    if name == REFERENCE:
        if stats.failures() or stats.rounds < rounds:
            pytest.xfail("reference figures only (ipykernel): " + detail)
        return
    assert stats.failures() == 0 and alive, detail
    assert stats.rounds == rounds, detail


# ============================================================================ message fuzzer
DELIM = b"<IDS|MSG>"
ONE_MB = 1 << 20


class Blob:
    """Raw JSON text spliced into a frame (deep nesting, which Python's json cannot write)."""

    def __init__(self, text: str, kind: Any) -> None:
        self.text, self.kind = text, kind

    def __repr__(self) -> str:
        return f"Blob({len(self.text)} chars)"


def encode(obj: Any) -> bytes:
    blobs: list[str] = []

    def walk(o: Any) -> Any:
        if isinstance(o, Blob):
            blobs.append(o.text)
            return f"\x00BLOB{len(blobs) - 1}\x00"
        if isinstance(o, dict):
            return {k: walk(v) for k, v in o.items()}
        if isinstance(o, list):
            return [walk(v) for v in o]
        return o

    text = json.dumps(walk(obj))
    for n, b in enumerate(blobs):
        text = text.replace(json.dumps(f"\x00BLOB{n}\x00"), b, 1)
    return text.encode()


INVALID = object()  # a frame that is not JSON


@dataclass
class Frame:
    data: bytes
    obj: Any = INVALID   # what the frame decodes to (INVALID if it does not)


def jframe(obj: Any) -> Frame:
    return Frame(encode(obj), obj)


def deep(depth: int, kind: str = "list") -> Blob:
    if kind == "list":
        return Blob("[" * depth + "]" * depth, "deep")
    return Blob('{"a":' * depth + "{}" + "}" * depth, "deep")


def wrong_value(rng: random.Random) -> Any:
    return rng.choice([
        None, 0, -1, 2**63, 1.5, 1e308, True, "", "x", [], [1, "a"], {}, {"k": [None]},
        "\udcff".encode("utf-8", "surrogatepass").decode("latin-1"), "a" * 1000,
        lambda: "a" * ONE_MB, lambda: deep(rng.choice([50, 1000, 10_000, 100_000]),
                                            rng.choice(["list", "dict"])),
    ])


def realize(v: Any) -> Any:
    return v() if callable(v) else v


SAFE_CODE = [
    "1 + 1", "fz_count = globals().get('fz_count', 0) + 1", "pass", "def broken(:", "1/0",
    "import time; time.sleep(0.05)", "print('fz')", "[i * i for i in range(1000)][-1]",
    "fz_user = {'a': [1, 2]}", "import sys; sys.stdout.write('w')", "raise ValueError('fz')",
    "'é' * 3", "", "fz_count", "import json",
]


def base_request(rng: random.Random, comm_ids: list[str]) -> tuple[str, str, dict]:
    """(channel, msg_type, content) of a well-formed message."""
    kind = rng.choice(["kernel_info", "execute", "execute", "execute", "complete", "inspect",
                       "is_complete", "history", "comm_info", "comm_open", "comm_msg",
                       "comm_close", "interrupt", "unknown", "control_info"])
    if kind == "kernel_info":
        return "shell", "kernel_info_request", {}
    if kind == "control_info":
        return "control", "kernel_info_request", {}
    if kind == "execute":
        return "shell", "execute_request", {
            "code": rng.choice(SAFE_CODE), "silent": rng.random() < 0.2,
            "store_history": rng.random() < 0.8,
            "user_expressions": rng.choice([{}, {"a": "1+1"}, {"b": "undefined_name"}]),
            "allow_stdin": False, "stop_on_error": rng.random() < 0.5}
    if kind == "complete":
        code = rng.choice(["import o", "fz_", "print(", "x.", ""])
        return "shell", "complete_request", {"code": code, "cursor_pos": len(code)}
    if kind == "inspect":
        return "shell", "inspect_request", {"code": "print", "cursor_pos": 5,
                                            "detail_level": rng.choice([0, 1])}
    if kind == "is_complete":
        return "shell", "is_complete_request", {"code": rng.choice(["for i in x:", "1+1", "(("])}
    if kind == "history":
        return "shell", "history_request", rng.choice([
            {"output": False, "raw": True, "hist_access_type": "tail", "n": 5},
            {"output": True, "raw": False, "hist_access_type": "range", "session": 0,
             "start": 0, "stop": 5},
            {"output": False, "raw": True, "hist_access_type": "search", "pattern": "fz*",
             "unique": True, "n": 3}])
    if kind == "comm_info":
        return "shell", "comm_info_request", rng.choice([{}, {"target_name": "kite.fuzz"}])
    if kind == "comm_open":
        cid = uuid.uuid4().hex
        comm_ids.append(cid)
        return "shell", "comm_open", {"comm_id": cid, "target_name": "kite.fuzz", "data": {}}
    if kind == "comm_msg":
        cid = rng.choice(comm_ids) if comm_ids else uuid.uuid4().hex
        return "shell", "comm_msg", {"comm_id": cid, "data": {"n": rng.randrange(100)}}
    if kind == "comm_close":
        cid = rng.choice(comm_ids) if comm_ids else uuid.uuid4().hex
        return "shell", "comm_close", {"comm_id": cid, "data": {}}
    if kind == "interrupt":
        return "control", "interrupt_request", {}
    name = rng.choice(["kite_fuzz_request", "kite_fuzz", "_request", "execute_reply", "status",
                       "x" * 300 + "_request", "comm_info", "debug_request", "history_reply",
                       "input_reply", "é_request"])
    return rng.choice(["shell", "control"]), name, {"anything": 1}


@dataclass
class FuzzMessage:
    channel: str
    pre: list[bytes]          # frames before the delimiter (routing identities)
    frames: list[Frame]       # [sig, header, parent, metadata, content, *buffers] (after DELIM)
    delim: bool = True
    mutations: list[str] = field(default_factory=list)
    header_obj: Any = None    # the header as built (before framing mutations)

    def wire(self, key: bytes) -> list[bytes]:
        out = list(self.pre)
        if self.delim:
            out.append(DELIM)
        out += [f.data for f in self.frames]
        return out


def sign(key: bytes, frames: list[bytes]) -> bytes:
    h = hmac.new(key, digestmod=hashlib.sha256)
    for f in frames:
        h.update(f)
    return h.hexdigest().encode()


def needs_reply(msg: FuzzMessage, key: bytes) -> str | None:
    """The msg_id the kernel must answer (the brief's rule), or None."""
    if not msg.delim or len(msg.frames) < 5:
        return None
    sig, rest = msg.frames[0], msg.frames[1:5]
    if not hmac.compare_digest(sig.data, sign(key, [f.data for f in rest])):
        return None
    h = rest[0].obj
    if not isinstance(h, dict):
        return None
    mid, mt = h.get("msg_id"), h.get("msg_type")
    if not (isinstance(mid, str) and mid and isinstance(mt, str) and mt.endswith("_request")):
        return None
    return mid


def mutate(rng: random.Random, msg: FuzzMessage, header: dict, parent: Any, metadata: Any,
           content: Any, key: bytes, recent_ids: list[str]) -> None:
    """Apply 1-3 mutations to msg; fills msg.frames and the signature."""
    muts: list[str] = []
    n = rng.choice([0, 1, 1, 1, 2, 2, 3]) if rng.random() > 0.15 else 0
    sig_mode = "ok"
    frame_op: str | None = None
    objs: dict[str, Any] = {"header": header, "parent": parent, "metadata": metadata,
                            "content": content}
    raw: dict[str, bytes] = {}
    extra_buffers: list[bytes] = []
    for _ in range(n):
        m = rng.choice(["signature", "frames", "part_type", "invalid_json", "content_field",
                        "content_field", "content_field", "drop_field", "extra_field", "huge",
                        "deep", "dup_id", "header_field", "buffers"])
        muts.append(m)
        if m == "signature":
            sig_mode = rng.choice(["wrong_key", "missing", "garbage", "upper", "empty"])
            muts[-1] += ":" + sig_mode
        elif m == "frames":
            frame_op = rng.choice(["drop", "dup", "extra_before", "no_delim", "dup_delim",
                                   "sign_then_drop"])
            muts[-1] += ":" + frame_op
        elif m == "part_type":
            part = rng.choice(["header", "parent", "metadata", "content"])
            objs[part] = rng.choice([[], [1, 2], 5, "s", None, True, 1.5])
            muts[-1] += ":" + part
        elif m == "invalid_json":
            part = rng.choice(["header", "parent", "metadata", "content"])
            raw[part] = rng.choice([b"{", b"", b"nan", b"[1,2", b"\xff\xfe{}", b"{'a': 1}",
                                    b'{"a": 1} trailing', b"{\"a\": \"\\ud800\"", b"\x00"])
            muts[-1] += ":" + part
        elif m == "content_field" and isinstance(objs["content"], dict) and objs["content"]:
            f = rng.choice(list(objs["content"]))
            objs["content"] = dict(objs["content"], **{f: realize(wrong_value(rng))})
            muts[-1] += ":" + f
        elif m == "drop_field" and isinstance(objs["content"], dict) and objs["content"]:
            f = rng.choice(list(objs["content"]))
            objs["content"] = {k: v for k, v in objs["content"].items() if k != f}
            muts[-1] += ":" + f
        elif m == "extra_field":
            part = rng.choice(["header", "parent", "metadata", "content"])
            if isinstance(objs[part], dict):
                objs[part] = dict(objs[part], kite_fuzz_extra=realize(wrong_value(rng)))
            muts[-1] += ":" + part
        elif m == "huge":
            part = rng.choice(["content", "content", "metadata", "parent", "header"])
            if isinstance(objs[part], dict):
                if part == "content" and objs[part] and rng.random() < 0.6:
                    f = rng.choice(list(objs[part]))
                    objs[part] = dict(objs[part], **{f: "a" * ONE_MB})
                else:
                    objs[part] = dict(objs[part], kite_fuzz_huge="b" * ONE_MB)
            muts[-1] += ":" + part
        elif m == "deep":
            part = rng.choice(["content", "metadata", "parent", "header"])
            d = deep(rng.choice([100, 1000, 10_000, 100_000]), rng.choice(["list", "dict"]))
            if isinstance(objs[part], dict):
                objs[part] = dict(objs[part], kite_fuzz_deep=d)
            muts[-1] += ":" + part
        elif m == "dup_id" and recent_ids and isinstance(objs["header"], dict):
            objs["header"] = dict(objs["header"], msg_id=rng.choice(recent_ids))
        elif m == "header_field" and isinstance(objs["header"], dict):
            f = rng.choice(["msg_id", "msg_type", "session", "username", "date", "version"])
            how = rng.choice(["drop", "wrong"])
            h = dict(objs["header"])
            if how == "drop":
                h.pop(f, None)
            else:
                h[f] = rng.choice([None, 5, [], {}, "", "not a date" if f == "date" else "é"])
            objs["header"] = h
            muts[-1] += f":{f}:{how}"
        elif m == "buffers":
            extra_buffers = [os.urandom(rng.choice([0, 1, 100, 70_000]))
                             for _ in range(rng.choice([1, 2, 5]))]
    frames = [Frame(raw[p]) if p in raw else jframe(objs[p])
              for p in ("header", "parent", "metadata", "content")]
    frames += [Frame(b) for b in extra_buffers]
    datas = [f.data for f in frames[:4]]
    if sig_mode == "ok":
        sig = sign(key, datas)
    elif sig_mode == "wrong_key":
        sig = sign(b"not-the-key", datas)
    elif sig_mode == "missing":
        sig = None
    elif sig_mode == "garbage":
        sig = os.urandom(32).hex().encode()
    elif sig_mode == "upper":
        sig = sign(key, datas).upper()
    else:
        sig = b""
    body = ([] if sig is None else [Frame(sig)]) + frames
    if frame_op == "drop":
        del body[rng.randrange(len(body))]
    elif frame_op == "sign_then_drop":
        # drop a part, then sign what is left (a validly signed message missing a frame)
        del frames[rng.randrange(4)]
        body = [Frame(sign(key, [f.data for f in frames[:4]]))] + frames
    elif frame_op == "dup":
        j = rng.randrange(len(body))
        body.insert(j, body[j])
        if rng.random() < 0.5:  # re-sign what the kernel will read as the four parts
            body[0] = Frame(sign(key, [f.data for f in body[1:5]]))
    elif frame_op == "extra_before":
        msg.pre = [b"kite-fuzz-extra-identity"]
    elif frame_op == "no_delim":
        msg.delim = False
    elif frame_op == "dup_delim":
        body.insert(0, Frame(DELIM))
    msg.frames = body
    msg.mutations = muts
    msg.header_obj = objs["header"]


class Wire:
    """Raw sockets on the kernel's shell, control and iopub ports, with the session's key."""

    def __init__(self, k: Kernel) -> None:
        info = k.km.get_connection_info()
        key = info["key"]
        self.key = key if isinstance(key, bytes) else key.encode()
        self.ctx = zmq.Context.instance()
        self.session = uuid.uuid4().hex
        url = f"{info['transport']}://{info['ip']}:"
        self.socks: dict[str, zmq.Socket] = {}
        for ch in ("shell", "control"):
            s = self.ctx.socket(zmq.DEALER)
            s.linger = 0
            s.sndtimeo = 10_000  # a dead kernel must not block a send for ever
            s.setsockopt(zmq.IDENTITY, f"kite-fuzz-{ch}-{uuid.uuid4().hex[:8]}".encode())
            s.connect(url + str(info[f"{ch}_port"]))
            self.socks[ch] = s
        sub = self.ctx.socket(zmq.SUB)
        sub.linger = 0
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(url + str(info["iopub_port"]))
        self.socks["iopub"] = sub
        self.poller = zmq.Poller()
        for s in self.socks.values():
            self.poller.register(s, zmq.POLLIN)

    def close(self) -> None:
        for s in self.socks.values():
            s.close(linger=0)

    def header(self, msg_type: str) -> dict:
        return {"msg_id": uuid.uuid4().hex, "session": self.session, "username": "kite-fuzz",
                "date": datetime.now(timezone.utc).isoformat(), "msg_type": msg_type,
                "version": "5.3"}

    def recv(self, timeout: float) -> list[tuple[str, list[bytes]]]:
        out = []
        for s, _ in self.poller.poll(int(timeout * 1000)):
            ch = next(c for c, x in self.socks.items() if x is s)
            while True:
                try:
                    out.append((ch, s.recv_multipart(zmq.NOBLOCK)))
                except zmq.Again:
                    break
        return out


MSG_ID_RE = re.compile(rb'"msg_id"\s*:\s*"([^"]*)"')


def _loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except RecursionError:
        return Ellipsis  # nested deeper than Python's json reads: checked by its first byte
    except ValueError:
        return INVALID


def check_outgoing(ch: str, frames: list[bytes], key: bytes) -> tuple[str | None, str | None]:
    """(parent msg_id, problem) of a message the kernel sent."""
    try:
        i = frames.index(DELIM)
    except ValueError:
        return None, "no delimiter"
    sig, rest = frames[i + 1], frames[i + 2:]
    if len(rest) < 4:
        return None, f"{len(rest)} frames after the signature"
    problem = None
    if not hmac.compare_digest(sig, sign(key, rest[:4])):
        problem = "bad signature"
    parts = [_loads(f) for f in rest[:4]]
    for name, data, obj in zip(("header", "parent_header", "metadata", "content"), rest, parts):
        if obj is Ellipsis:
            if not data.lstrip().startswith(b"{"):
                problem = f"{name} is not an object"
        elif not isinstance(obj, dict):
            problem = f"{name} is not a JSON object: {data[:80]!r}"
    parent = parts[1]
    pid = None
    if isinstance(parent, dict):
        pid = parent.get("msg_id")
    elif parent is Ellipsis:
        m = MSG_ID_RE.search(rest[1])
        pid = m.group(1).decode() if m else None
    return (pid if isinstance(pid, str) else None), problem


@dataclass
class FuzzStats:
    sent: int = 0
    needing_reply: int = 0
    answered: int = 0
    unanswered: list = field(default_factory=list)
    late: list = field(default_factory=list)
    malformed_out: list = field(default_factory=list)
    health_checks: int = 0
    health_failures: list = field(default_factory=list)
    crashes: list = field(default_factory=list)  # the messages sent just before each death
    replies_seen: int = 0
    iopub_seen: int = 0
    reply_times: list = field(default_factory=list)
    mutations: dict[str, int] = field(default_factory=dict)

    def unanswered_by_kind(self) -> dict[str, int]:
        """Unanswered requests per mutation kind (a request can carry several)."""
        out: dict[str, int] = {}
        for _, desc in self.unanswered:
            if "kernel died" in desc:
                out["(kernel died)"] = out.get("(kernel died)", 0) + 1
                continue
            kinds = set(re.findall(r"'([a-z_]+)(?::[^']*)?'", desc[0].split("[", 1)[1]))
            for kind in kinds or {"(none)"}:
                out[kind] = out.get(kind, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def summary(self) -> dict:
        rt = [x * 1000 for x in self.reply_times]
        return {"sent": self.sent, "needing_reply": self.needing_reply,
                "unanswered_by_kind": self.unanswered_by_kind(),
                "answered": self.answered, "unanswered": len(self.unanswered),
                "late": len(self.late), "malformed_out": len(self.malformed_out),
                "health_checks": self.health_checks,
                "health_failures": len(self.health_failures), "crashes": len(self.crashes),
                "replies_seen": self.replies_seen, "iopub_seen": self.iopub_seen,
                "reply_ms": {"p50": round(percentile(rt, 50), 1),
                             "p99": round(percentile(rt, 99), 1),
                             "max": round(max(rt), 1) if rt else None}}


FUZZ_REPLY_TIMEOUT = 10.0
HEALTH_EVERY = 100
MAX_CRASHES = 10  # restart a crashed kernel this often (to find more), then stop
# after this many unanswered requests, stop waiting for each reply on its own (a failing kernel
# would cost 10 s per message): replies are then awaited once per batch of HEALTH_EVERY
BATCH_AFTER_UNANSWERED = 5


def describe_message(msg: FuzzMessage) -> str:
    h = msg.header_obj
    t = h.get("msg_type") if isinstance(h, dict) else type(h).__name__
    sizes = [len(f.data) for f in msg.frames]
    return f"{msg.channel} {t!r:.60} {msg.mutations} frame sizes {sizes}"


class FuzzRun:
    """One fuzz run against a started kernel (the driver's channels are stopped meanwhile: the
    kernel echoes hostile headers as parent_header, which jupyter_client may not decode; every
    check goes over the raw sockets)."""

    def __init__(self, k: Kernel, seed: int) -> None:
        self.k, self.seed = k, seed
        self.rng = random.Random(seed)
        self.stats = FuzzStats()
        # msg_id -> [needed replies, replies got, sent time, deadline, description]
        self.pending: dict[str, list] = {}
        self.probes: dict[str, list] = {}   # health-check msg_id -> replies
        self.recent_ids: list[str] = []
        self.comm_ids: list[str] = []
        self.last_sent: list[str] = []
        self.wire: Wire | None = None

    # -- sockets --------------------------------------------------------------------------------
    def connect(self) -> None:
        self.k.kc.stop_channels()
        self.wire = Wire(self.k)
        time.sleep(0.3)  # let the SUB socket subscribe
        self.set_state()

    def close(self) -> None:
        if self.wire is not None:
            self.wire.close()
            self.wire = None

    def reopen_client(self) -> None:
        """A fresh jupyter_client client (a stopped one cannot be started again)."""
        self.k.kc = self.k.km.client()
        self.k.kc.start_channels()
        self.k.results.clear()

    def send_valid(self, channel: str, msg_type: str, content: dict) -> str:
        h = self.wire.header(msg_type)
        frames = [encode(h), b"{}", b"{}", encode(content)]
        self.probes[h["msg_id"]] = []
        try:
            self.wire.socks[channel].send_multipart([DELIM, sign(self.wire.key, frames), *frames])
        except zmq.Again:
            pass  # no reply will come: the caller sees None
        return h["msg_id"]

    def probe(self, channel: str, msg_type: str, content: dict, timeout: float = 10) -> Any:
        mid = self.send_valid(channel, msg_type, content)
        deadline = clock() + timeout
        while not self.probes[mid] and clock() < deadline:
            self.pump(0.05)
        got = self.probes.pop(mid)
        return got[0] if got else None

    def set_state(self) -> None:
        rep = self.probe("shell", "execute_request", {
            "code": f"fuzz_state = 'kept-{self.seed}'", "silent": False, "store_history": True,
            "user_expressions": {}, "allow_stdin": False, "stop_on_error": False}, 30)
        assert isinstance(rep, dict) and rep.get("status") == "ok", \
            f"[{self.k.name}] could not set the fuzz state: {rep!r:.300}"

    def pump(self, timeout: float) -> None:
        st = self.stats
        for ch, frames in self.wire.recv(timeout):
            pid, problem = check_outgoing(ch, frames, self.wire.key)
            if ch == "iopub":
                st.iopub_seen += 1
            else:
                st.replies_seen += 1
            if problem:
                st.malformed_out.append((ch, problem, [f[:120] for f in frames[:6]])
                                        if len(st.malformed_out) < 20 else None)
            if ch == "iopub":
                continue
            if pid in self.probes:
                try:
                    i = frames.index(DELIM)
                    self.probes[pid].append(json.loads(frames[i + 5]))
                except (ValueError, RecursionError):
                    self.probes[pid].append(None)
            elif pid in self.pending:
                p = self.pending[pid]
                p[1] += 1
                if p[1] <= p[0]:
                    now = clock()
                    st.reply_times.append(now - p[2])
                    if now > p[3]:
                        st.late.append((pid, p[4]))
                if p[1] >= p[0]:
                    st.answered += p[0]
                    del self.pending[pid]

    def settle(self, only: str | None = None) -> bool:
        """Pump until `only` (or everything) is answered or past its deadline; False if the
        kernel died meanwhile."""
        while True:
            ids = [only] if only else list(self.pending)
            waiting = [self.pending[i] for i in ids if i in self.pending]
            if not waiting:
                return True
            if not self.k.km.is_alive():
                return False
            latest = max(p[3] for p in waiting)
            now = clock()
            if now >= latest:
                for i in ids:
                    if i in self.pending:
                        self.stats.unanswered.append((i, self.pending.pop(i)[4]))
                return True
            self.pump(min(0.05, latest - now))

    def health(self, at: int) -> None:
        st = self.stats
        st.health_checks += 1
        fails = st.health_failures
        rep = self.probe("shell", "kernel_info_request", {})
        if not (isinstance(rep, dict) and rep.get("status") == "ok"
                and isinstance(rep.get("language_info"), dict)):
            fails.append((at, f"kernel_info: {rep!r:.200}"))
        rep = self.probe("control", "kernel_info_request", {})
        if not (isinstance(rep, dict) and rep.get("status") == "ok"):
            fails.append((at, f"kernel_info on control: {rep!r:.200}"))
        rep = self.probe("shell", "execute_request", {
            "code": "fuzz_two = 1 + 1", "silent": False, "store_history": True,
            "user_expressions": {"two": "fuzz_two", "state": "fuzz_state"},
            "allow_stdin": False, "stop_on_error": False})
        ue = rep.get("user_expressions") if isinstance(rep, dict) else None
        try:
            two = ue["two"]["data"]["text/plain"]
            state = ue["state"]["data"]["text/plain"]
        except (TypeError, KeyError):
            fails.append((at, f"1 + 1 / state: {rep!r:.300}"))
            return
        if two != "2":
            fails.append((at, f"1 + 1 gave {two!r}"))
        if state != repr(f"kept-{self.seed}"):
            fails.append((at, f"state lost: fuzz_state = {state!r:.100}"))

    def crashed(self, at: int) -> bool:
        if self.k.km.is_alive():
            return False
        self.stats.crashes.append((at, list(self.last_sent)))
        for i, p in list(self.pending.items()):
            self.stats.unanswered.append((i, p[4] + ("kernel died",)))
        self.pending.clear()
        self.close()
        if len(self.stats.crashes) < MAX_CRASHES:
            self.reopen_client()
            self.k.restart()
            self.connect()
        return True

    # -- the run --------------------------------------------------------------------------------
    def run(self, count: int) -> FuzzStats:
        rng, st = self.rng, self.stats
        self.connect()
        try:
            for i in range(count):
                channel, msg_type, content = base_request(rng, self.comm_ids)
                msg = FuzzMessage(channel, [], [])
                mutate(rng, msg, self.wire.header(msg_type), {}, {}, content, self.wire.key,
                       self.recent_ids)
                h = msg.header_obj
                if isinstance(h, dict) and h.get("msg_type") == "shutdown_request":
                    continue  # never ask it to leave
                for m in msg.mutations:
                    st.mutations[m.split(":")[0]] = st.mutations.get(m.split(":")[0], 0) + 1
                mid = needs_reply(msg, self.wire.key)
                try:
                    self.wire.socks[channel].send_multipart(msg.wire(self.wire.key))
                except zmq.Again:
                    if self.crashed(i + 1):
                        if len(st.crashes) >= MAX_CRASHES:
                            break
                        continue
                    raise AssertionError(f"[{self.k.name}] the kernel accepts no message for "
                                         f"10 s (alive, not reading {channel})")
                st.sent += 1
                self.last_sent = (self.last_sent + [describe_message(msg)])[-10:]
                now = clock()
                if isinstance(h, dict) and isinstance(h.get("msg_id"), str):
                    self.recent_ids = (self.recent_ids + [h["msg_id"]])[-20:]
                if mid is not None:
                    st.needing_reply += 1
                    desc = (describe_message(msg),)
                    if mid in self.pending:
                        self.pending[mid][0] += 1
                        self.pending[mid][3] = now + FUZZ_REPLY_TIMEOUT
                    else:
                        self.pending[mid] = [1, 0, now, now + FUZZ_REPLY_TIMEOUT, desc]
                    # mostly one at a time (each measured on its own), sometimes a burst
                    one_by_one = rng.random() < 0.8 and len(st.unanswered) < BATCH_AFTER_UNANSWERED
                    if one_by_one and not self.settle(mid) and self.crashed(i + 1):
                        if len(st.crashes) >= MAX_CRASHES:
                            break
                        continue
                self.pump(0)
                if (i + 1) % HEALTH_EVERY == 0 or i + 1 == count:
                    self.settle()
                    if self.crashed(i + 1):
                        if len(st.crashes) >= MAX_CRASHES:
                            break
                        continue
                    self.health(i + 1)
                    if len(st.health_failures) >= 10:
                        break
            if self.wire is not None:
                self.settle()
                self.pump(0.5)
        finally:
            self.close()
            self.reopen_client()
        if not self.k.km.is_alive() and (not st.crashes or st.crashes[-1][0] != st.sent):
            st.crashes.append((st.sent, list(self.last_sent)))
        return st


@pytest.mark.parametrize("name", KITE_HOSTS)
def test_message_fuzz(name: str) -> None:
    seed = _seed("KITE_FUZZ_SEED")
    print(f"[fuzz] kernel={name} seed={seed} messages={FUZZ_MESSAGES} (rerun: KITE_FUZZ_SEED={seed})")
    k = start_kernel(name)
    t0 = clock()
    try:
        stats = FuzzRun(k, seed).run(FUZZ_MESSAGES)
    finally:
        k.shutdown(now=not k.km.is_alive())
    summary = stats.summary()
    malformed = [m for m in stats.malformed_out if m][:10]
    report("reliability_fuzz", kernel=name, seed=seed, seconds=round(clock() - t0, 1),
           **summary, mutations=stats.mutations, unanswered_examples=stats.unanswered[:15],
           late_examples=stats.late[:10], malformed_examples=[repr(m)[:400] for m in malformed],
           health_failure_examples=stats.health_failures[:10], crash_examples=stats.crashes[:5])
    detail = (f"[{name}] seed={seed}: {summary}\n crashes (messages sent just before)="
              f"{stats.crashes[:3]}\n unanswered={stats.unanswered[:10]}\n "
              f"late={stats.late[:5]}\n malformed out={malformed[:5]}\n "
              f"health={stats.health_failures[:5]}")
    assert not stats.crashes, detail
    assert stats.sent >= FUZZ_MESSAGES * 0.99, detail
    assert not stats.unanswered and not stats.late, detail
    assert not stats.malformed_out, detail
    assert not stats.health_failures, detail


# ============================================================================== memory check
def tree_rss_kb(pid: int) -> int:
    """VmRSS of `pid` plus its descendant processes (threads share the process's RSS)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return total


# Limits, from measurements on the 2-core test machine (11:10 UTC, 2026-12-01) with a margin:
# - small cells (`mem_x = i * 2; mem_x`, 20 in flight): kite-node grew 4.2-5.4 KB per cell
#   (2,000 cells: +8-11 MB), kite-native 1.1 KB (+2.3 MB). Each cell keeps its source in
#   linecache, In/Out and history, as IPython does. Limit: 16 KB per cell, at least 32 MB.
SMALL_CELLS_GROWTH_KB_PER_CELL = 16
SMALL_CELLS_GROWTH_KB_MIN = 32 * 1024
# - one 20 MB execute_request (`mem_big = len('aaa...')`, store_history=False): kite-node
#   +280-320 MB (the frame, JS strings, the structured clone to the worker, the C++ and Python
#   copies, the compiled constant, the execute_input echo; wasm memory never shrinks), kite-native
#   +80-160 MB (glibc keeps freed heap; the second message sometimes grows it as much again).
#   Limit: 24x / 12x the message.
LARGE_MB = 20
LARGE_FACTOR = {"kite-node": 24, "kite-native": 12}
# - REPEATS more such messages: from the second one on, memory is reused, but each cell's source
#   stays in linecache (for tracebacks, as in IPython), so about 1x each is kept: measured
#   +8-38 MB per message (kite-node), +20-22 MB (kite-native) from the 2nd to the 4th.
#   Limit: 3x the message per message after the second (keeping every copy would be 8-16x).
REPEATS = 3
REPEAT_FACTOR = 3

@pytest.mark.parametrize("name", KITE_HOSTS)
def test_memory_bounded(name: str) -> None:
    k = start_kernel(name)
    try:
        k.execute_ok("mem_state = 7")
        k.idle_for(0.5)
        pid = k.pid
        start = tree_rss_kb(pid)
        t0 = clock()
        window = 20  # cells in flight (as a notebook "run all" would queue them)
        ids: list[str] = []
        failed: list[str] = []
        for i in range(MEMORY_CELLS):
            ids.append(k.send_execute(f"mem_x = {i} * 2\nmem_x"))
            if len(ids) >= window:
                r = k.collect(ids.pop(0), 30)
                if r.reply is None or r.status != "ok":
                    failed.append(r.describe()[:300])
                k.results.pop(r.msg_id, None)
        for m in ids:
            r = k.collect(m, 30)
            if r.reply is None or r.status != "ok":
                failed.append(r.describe()[:300])
            k.results.pop(m, None)
        cells_seconds = clock() - t0
        k.idle_for(0.5)
        after_cells = tree_rss_kb(pid)
        assert not failed, f"[{name}] {len(failed)} small cells failed: {failed[:3]}"

        big = "a" * (LARGE_MB * ONE_MB)
        outcomes, large_seconds, after_large = [], [], []
        for _ in range(1 + REPEATS):
            t1 = clock()
            # store_history=False: no In[] / history entry (linecache still keeps the source)
            r = k.execute(f"mem_big = len('{big}')\nmem_big", timeout=120, store_history=False)
            large_seconds.append(round(clock() - t1, 2))
            assert r.reply is not None, f"[{name}] no reply to a {LARGE_MB} MB execute_request"
            outcomes.append(r.status if r.status == "ok" else
                            f"{r.content.get('ename')}: {str(r.content.get('evalue'))[:200]}")
            k.results.clear()
            k.idle_for(0.5)
            after_large.append(tree_rss_kb(pid))
        del big
        k.execute("import gc; gc.collect()")
        k.idle_for(0.5)
        after_gc = tree_rss_kb(pid)
        assert k.expr("mem_state") == "7", f"[{name}] state lost"
        assert k.expr("1 + 1") == "2"
    finally:
        k.shutdown()
    figures = {"start_mb": round(start / 1024, 1), "after_cells_mb": round(after_cells / 1024, 1),
               "after_large_mb": [round(x / 1024, 1) for x in after_large],
               "after_gc_mb": round(after_gc / 1024, 1), "cells": MEMORY_CELLS,
               "cells_seconds": round(cells_seconds, 1),
               "cells_growth_kb_per_cell": round((after_cells - start) / max(1, MEMORY_CELLS), 2),
               "large_mb": LARGE_MB, "large_outcome": outcomes, "large_seconds": large_seconds}
    report("reliability_memory", kernel=name, **figures)
    cells_limit = max(SMALL_CELLS_GROWTH_KB_MIN, SMALL_CELLS_GROWTH_KB_PER_CELL * MEMORY_CELLS)
    assert after_cells - start <= cells_limit, (
        f"[{name}] RSS grew {(after_cells - start) / 1024:.1f} MB over {MEMORY_CELLS} small cells "
        f"(limit {cells_limit / 1024:.0f} MB): {figures}")
    factor = LARGE_FACTOR.get(name, max(LARGE_FACTOR.values()))
    assert after_large[0] - after_cells <= factor * LARGE_MB * 1024, (
        f"[{name}] RSS grew {(after_large[0] - after_cells) / 1024:.1f} MB for one {LARGE_MB} MB "
        f"message (limit {factor * LARGE_MB} MB): {figures}")
    repeat_limit = (REPEATS - 1) * REPEAT_FACTOR * LARGE_MB * 1024
    assert after_large[-1] - after_large[1] <= repeat_limit, (
        f"[{name}] RSS grew another {(after_large[-1] - after_large[1]) / 1024:.1f} MB for "
        f"{REPEATS - 1} more {LARGE_MB} MB messages after the second (limit "
        f"{repeat_limit // 1024} MB): {figures}")
