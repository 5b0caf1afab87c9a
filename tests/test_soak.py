"""Interrupt soak: many interrupts at random moments, zero may be lost, zero may hang.

Per kernel, ROUNDS rounds (env KITE_SOAK_ROUNDS, default 200) of: send a never-ending cell
(`while True: pass`, `time.sleep(600)`, `fib(40)` in turn), wait until the kernel has *received*
it (status busy for that request), wait a random 0-50 ms (seeded RNG; env KITE_SOAK_SEED,
printed), interrupt through the kernelspec's mode, and expect a KeyboardInterrupt reply within 2 s.

Small delays put the interrupt between "execute_request received" and "cell running": a kernel
must not drop a signal that arrives there (kite's interrupt_source.clear() before a cell must not
eat it). A round without a reply within 2 s is a *lost* interrupt; it is then interrupted again
(up to 3 times) and a round that still never replies is a *hang* (the kernel is restarted so the
count of the other rounds stays meaningful). Both counts must be zero, and the kernel state must
survive the whole soak.
"""
from __future__ import annotations

import os
import random
import statistics
import time

import pytest

from kernels import Kernel, k, kernel, report  # noqa: F401  (pytest fixtures)

ROUNDS = int(os.environ.get("KITE_SOAK_ROUNDS", "200"))
REPLY_TIMEOUT = 2.0
MAX_FAILURES = 10  # stop early rather than spend minutes on a kernel that loses everything

SETUP = """\
import time
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
x = 41
"""
CELLS = ["while True:\n    pass", "time.sleep(600)", "fib(40)"]


def _seed() -> int:
    env = os.environ.get("KITE_SOAK_SEED")
    return int(env) if env else int(time.time() * 1000) % 1_000_000


def _known_limitation(k: Kernel) -> None:
    if k.name == "python3":
        # ipykernel (the reference) ignores SIGINT while idle (kernelapp.init_signal: SIG_IGN) and
        # installs default_int_handler only just before running the cell (pre_handler_hook), so
        # a SIGINT landing between "busy" and that point is lost. Kept strict for kite.
        pytest.xfail("ipykernel drops a SIGINT that lands between busy and the cell's start")


def run_rounds(k: Kernel, rounds: int, delay_of, label: str) -> dict:
    """Interrupt `rounds` cells; delay_of(i) is the wait after busy. Returns the counts."""
    lost, hangs, wrong, latencies = [], [], [], []
    restarted = False
    t_start = time.monotonic()
    rounds_done = 0
    for i in range(rounds):
        cell = CELLS[i % len(CELLS)]
        delay = delay_of(i)
        msg_id = k.send_execute(cell)
        r = k.results[msg_id]
        assert k.wait_for(lambda: "busy" in r.statuses or r.reply is not None, 10), (
            f"[{k.name}] round {i}: kernel never went busy")
        if delay > 0:
            k.idle_for(delay)
        t0 = time.monotonic()
        k.interrupt("mode")
        k.wait_for(lambda: r.reply is not None, REPLY_TIMEOUT)
        if r.reply is None:
            for _ in range(3):
                k.interrupt("mode")
                if k.wait_for(lambda: r.reply is not None, REPLY_TIMEOUT):
                    break
            if r.reply is None:
                hangs.append((i, cell, round(delay, 4)))
                k.restart()
                k.execute_ok(SETUP)
                restarted = True
            else:
                lost.append((i, cell, round(delay, 4)))
        elif r.content.get("ename") != "KeyboardInterrupt":
            wrong.append((i, cell, f"{r.status} {r.content.get('ename')}"))
        else:
            latencies.append(r.reply_time - t0)
        k.wait_for(lambda: r.idle, 2)
        rounds_done = i + 1
        k.results.pop(msg_id, None)
        if len(lost) + len(hangs) + len(wrong) >= MAX_FAILURES:
            break
    out = {"rounds": rounds_done, "lost": lost, "hangs": hangs, "wrong": wrong,
           "restarted": restarted, "seconds": round(time.monotonic() - t_start, 1)}
    if latencies:
        out["latency_median_ms"] = round(statistics.median(latencies) * 1000, 1)
        out["latency_max_ms"] = round(max(latencies) * 1000, 1)
    return out


def _check(k: Kernel, res: dict, rounds: int, what: str) -> None:
    lost, hangs, wrong = res["lost"], res["hangs"], res["wrong"]
    if lost or hangs or wrong:
        _known_limitation(k)
    assert not lost and not hangs and not wrong, (
        f"[{k.name}] {what}: {len(lost)} lost interrupts (round, cell, delay s) {lost}, "
        f"{len(hangs)} hangs {hangs}, {len(wrong)} wrong replies {wrong} "
        f"in {res['rounds']} rounds")
    assert res["rounds"] == rounds
    assert not res["restarted"]
    # final state survived
    assert k.expr("x + 1") == "42"
    assert k.expr("fib(10)") == "55"


def test_interrupt_soak(k: Kernel) -> None:
    seed = _seed()
    print(f"[soak] kernel={k.name} seed={seed} rounds={ROUNDS} (rerun: KITE_SOAK_SEED={seed})")
    rng = random.Random(seed)
    k.execute_ok(SETUP)
    res = run_rounds(k, ROUNDS, lambda i: rng.uniform(0.0, 0.05), "soak")
    report("interrupt_soak", kernel=k.name, seed=seed,
           **{key: (len(v) if isinstance(v, list) else v) for key, v in res.items()},
           lost_rounds=res["lost"][:10], hang_rounds=res["hangs"][:10])
    _check(k, res, ROUNDS, f"soak seed={seed}")


def test_interrupt_right_after_busy(k: Kernel) -> None:
    """The race window on its own: interrupt as soon as `busy` is seen (no delay), 40 times."""
    rounds = 40
    k.execute_ok(SETUP)
    res = run_rounds(k, rounds, lambda i: 0.0, "at-busy")
    report("interrupt_at_busy", kernel=k.name,
           **{key: (len(v) if isinstance(v, list) else v) for key, v in res.items()})
    _check(k, res, rounds, "interrupt right after busy")
