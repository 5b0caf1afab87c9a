"""What kite's reliability tests share (issue 14, item 3): the kernels they run on, their seeds and
the spread of their timings. The tests themselves: tests/test_soak.py (interrupts at random
moments), tests/test_fuzz.py (hostile messages), tests/test_memory.py (memory under load); `make
soak` runs them with 10x the rounds.

Each test records its figures with kernels.report() in test-artifacts/kernel-tests.jsonl (kinds
`reliability_soak`, `reliability_fuzz`, `reliability_memory`) and prints them (`pytest -s` /
`-rP`). KITE_SOAK_SEED / KITE_FUZZ_SEED replay a run (the seed is printed and reported).
"""
from __future__ import annotations

import os
import time

from kernels import kernel_names

REFERENCE = "python3"  # ipykernel: measured for comparison, never asserted
KITE_HOSTS = [n for n in kernel_names() if n != REFERENCE]
ONE_MB = 1 << 20


def pick_seed(var: str) -> int:
    """The seed in environment variable `var`, or a fresh one (printed by the caller)."""
    env = os.environ.get(var)
    return int(env) if env else int(time.time() * 1000) % 1_000_000


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    return s[min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))]


def spread_ms(seconds: list[float]) -> dict:
    """p50, p99 and max of durations in seconds, in ms (max None when there are none)."""
    ms = [x * 1000 for x in seconds]
    return {"p50": round(percentile(ms, 50), 1), "p99": round(percentile(ms, 99), 1),
            "max": round(max(ms), 1) if ms else None}
