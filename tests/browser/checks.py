"""What a user scenario of tests/browser/driver.mjs must show, shared by the isolated-page tests
(test_lite.py) and the page-without-headers tests (test_nonisolated.py): the same behaviour is
expected whichever interrupt channel the page uses. A plain module, not a conftest."""
from __future__ import annotations

import re

INTERRUPT_BUDGET_MS = 1000  # click on Interrupt -> KeyboardInterrupt traceback visible


def state_kept(r: dict) -> None:
    assert r["statusAfter"] == "idle"
    assert re.search(r"\b42\b", r["after"]), r["after"]


def check_interrupted(r: dict) -> None:
    assert r["statusBeforeInterrupt"] == "busy"
    assert "KeyboardInterrupt" in r["output"], r["output"]
    assert r["interruptMs"] is not None and r["interruptMs"] < INTERRUPT_BUDGET_MS, r["interruptMs"]
    state_kept(r)


def check_custom_handler(r: dict) -> None:
    assert r["firstMs"] is not None and r["firstMs"] < INTERRUPT_BUDGET_MS, r["firstMs"]
    assert r["statusBetween"] == "busy", "the handler must not stop the cell"
    assert "handler caught SIGINT #1" in r["output"]
    assert "handler caught SIGINT #2" in r["output"]
    assert "loop left after 2 interrupts" in r["output"]
    assert "KeyboardInterrupt" not in r["output"]
    assert re.search(r"\b42\b", r["after"]), r["after"]


def check_input(r: dict) -> None:
    assert "Hello, kite" in r["answered"]
    assert "KeyboardInterrupt" in r["output"], r["output"]
    assert r["interruptMs"] is not None and r["interruptMs"] < INTERRUPT_BUDGET_MS
    state_kept(r)


def check_run_all(r: dict) -> None:
    first, second, third = r["outputs"]
    assert "KeyboardInterrupt" in first, first
    assert r["interruptMs"] is not None and r["interruptMs"] < INTERRUPT_BUDGET_MS
    assert "second cell ran" not in second and "third cell ran" not in third
    # the queued cells are not left pending ("[*]")
    assert "*" not in r["prompts"][1] and "*" not in r["prompts"][2], r["prompts"]
    assert r["statusAfter"] == "idle"
    assert "(False, False, 42)" in r["after"], r["after"]


def check_control_interrupt(r: dict) -> None:
    assert r["reply"]["type"] == "interrupt_reply"
    assert r["reply"]["content"]["status"] == "ok"
    assert r["reply"]["ms"] < INTERRUPT_BUDGET_MS, "the reply must not wait for the cell"
    assert "KeyboardInterrupt" in r["output"]
    state_kept(r)
