"""End-to-end tests of kite in JupyterLite: a real notebook in headless chromium, driven like a
user (launcher, toolbar Interrupt button, Run menu, stdin box). Screenshots of every step land in
test-artifacts/browser/. Numbers the tests measure are also written there as JSON."""
from __future__ import annotations

import pytest

from checks import (INTERRUPT_BUDGET_MS, check_control_interrupt, check_custom_handler, check_input,
                    check_interrupted, check_run_all)


def test_launcher_offers_kite(scenario, isolated_url):
    r = scenario("launcher", isolated_url)
    assert r["isolated"] is True
    # one card in the Notebook section, one in the Console section; no Pyodide kernel
    assert r["cards"].count("Python 3.11 (kite)") == 2, r["cards"]
    assert not any("Pyodide" in (c or "") for c in r["cards"]), r["cards"]


def test_kernel_starts_and_runs(scenario, isolated_url):
    r = scenario("start", isolated_url)
    assert "3.11" in r["output"], r["output"]
    assert r["isolated"] is True
    assert "Python 3.11 (kite)" in r["pickerOptions"], r["pickerOptions"]


def test_interrupt_busy_loop(scenario, isolated_url):
    check_interrupted(scenario("loop", isolated_url))


def test_interrupt_sleep(scenario, isolated_url):
    check_interrupted(scenario("sleep", isolated_url))


def test_interrupt_recursive_fib(scenario, isolated_url):
    check_interrupted(scenario("fib", isolated_url))


def test_interrupt_custom_sigint_handler(scenario, isolated_url):
    r = scenario("handler", isolated_url)
    check_custom_handler(r)


def test_input_and_interrupt_during_input(scenario, isolated_url):
    r = scenario("input", isolated_url)
    check_input(r)


def test_run_all_stops_at_interrupted_cell(scenario, isolated_url):
    r = scenario("runall", isolated_url)
    check_run_all(r)


def test_interrupt_request_on_control_channel(scenario, isolated_url):
    r = scenario("control", isolated_url)
    check_control_interrupt(r)
    assert r["interruptMs"] < INTERRUPT_BUDGET_MS


def test_rich_html_output(scenario, isolated_url):
    r = scenario("rich", isolated_url)
    assert r["html"] == "a kite"
    assert r["mime"] == "text/html"


def test_restart_gives_fresh_interpreter(scenario, isolated_url):
    r = scenario("restart", isolated_url)
    assert "False" in r["after"], "x must be gone after a restart"
    assert r["restartMs"] < 10000, r["restartMs"]


def test_crash_restarts_kernel(scenario, isolated_url):
    r = scenario("crash", isolated_url)
    assert "KernelCrashed" in r["crashOutput"]
    assert r["statusAfter"] == "idle"
    assert "False" in r["after"], "a crash loses the interpreter's state"


def test_not_isolated_page_explains_interrupt(scenario, plain_url):
    # without isolation AND without a service worker (blocked, as in some private windows):
    # no channel to the worker, so Interrupt offers the restart (test_nonisolated.py: with one)
    r = scenario("notisolated", plain_url, sw="block")
    assert r["isolated"] is False
    assert "41" in r["first"]  # the kernel works without isolation
    assert "Cannot interrupt" in r["dialogTitle"]
    body = r["dialogBody"]
    assert "Cross-Origin-Opener-Policy" in body and "Cross-Origin-Embedder-Policy" in body
    assert "restart the kernel" in body
    assert "alive after restart" in r["after"]
