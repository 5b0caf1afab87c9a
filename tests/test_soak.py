"""Interrupt soak (reliability, issue 14, item 3): interrupts at random moments must never be lost,
hang a kernel or leak into the next request, on every kite host (ipykernel's figures, when
KITE_TEST_KERNELS names `python3`, are for reference only). Shared helpers: tests/reliability.py.

Knobs (environment; `make soak` raises them): KITE_SOAK_ROUNDS (default 1000): rounds per kite host;
KITE_SOAK_REF_ROUNDS (default 200): rounds for ipykernel; KITE_SOAK_SEED replays a run. Figures:
report kind `reliability_soak`.

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
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

import pytest

from kernels import Kernel, clock, kernel_names, report, start_kernel
from reliability import REFERENCE, pick_seed, spread_ms

SOAK_ROUNDS = int(os.environ.get("KITE_SOAK_ROUNDS", "1000"))
REF_ROUNDS = int(os.environ.get("KITE_SOAK_REF_ROUNDS", "200"))

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
        return {
            "rounds": self.rounds, "lost": len(self.lost), "hangs": len(self.hangs),
            "leaks": len(self.leaks), "dead": len(self.dead), "wrong": len(self.wrong),
            "unanswered_interrupts": len(self.unanswered_interrupts),
            "sigint_before_start": self.sigint_before_start,
            "quick_interrupted": self.quick_interrupted,
            "latency_ms": {"n": len(self.latencies), **spread_ms(self.latencies)},
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
    seed = pick_seed("KITE_SOAK_SEED")
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
