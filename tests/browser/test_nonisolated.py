"""Interrupt on pages WITHOUT cross-origin isolation (issue 11): the site served by wasm/serve.py
without the COOP/COEP headers (as GitHub Pages serves it), so there is no SharedArrayBuffer. The
worker reaches the page through JupyterLite's service worker (wasm/jupyterlite/src/relay.ts): the
same user scenarios as test_lite.py must behave as on an isolated page. With the service worker
blocked, test_lite.py's test_not_isolated_page_explains_interrupt checks the restart dialog.
Screenshots: test-artifacts/browser/<scenario>-*.png (the JSON results beside them)."""
from __future__ import annotations

import re

import pytest

import checks
from checks import check_control_interrupt, check_custom_handler, check_input, check_run_all

RELAY_LINE = "interrupt channel: service worker"


def kite_console(r: dict) -> str:
    return "\n".join(line for line in r.get("console", []) if "[kite]" in line)


def check_relay(r: dict) -> None:
    assert RELAY_LINE in kite_console(r), kite_console(r)


def check_interrupted(r: dict) -> None:
    check_relay(r)
    checks.check_interrupted(r)


def test_kernel_uses_the_service_worker_channel(scenario, plain_url):
    r = scenario("start", plain_url, tag="plain")
    assert r["isolated"] is False
    assert "3.11" in r["output"], r["output"]
    check_relay(r)


def test_interrupt_busy_loop(scenario, plain_url):
    check_interrupted(scenario("loop", plain_url, tag="plain"))


def test_interrupt_recursive_fib(scenario, plain_url):
    check_interrupted(scenario("fib", plain_url, tag="plain"))


def test_interrupt_sleep(scenario, plain_url):
    check_interrupted(scenario("sleep", plain_url, tag="plain"))


@pytest.mark.parametrize("name, check", [
    ("handler", check_custom_handler),
    ("input", check_input),
    ("runall", check_run_all),
    ("control", check_control_interrupt),
], ids=["custom_sigint_handler", "interrupt_during_input", "run_all_stops_at_interrupted_cell",
        "interrupt_request_on_control_channel"])
def test_as_on_an_isolated_page(scenario, plain_url, name, check):
    r = scenario(name, plain_url, tag="plain")
    check_relay(r)
    check(r)


def test_no_service_worker_logs_channel_none(scenario, plain_url):
    r = scenario("notisolated", plain_url, sw="block", tag="nosw")
    assert "interrupt channel: none" in kite_console(r), kite_console(r)
    assert "Cannot interrupt" in r["dialogTitle"]
    assert "service worker" in r["dialogBody"]


def test_first_visit_to_a_notebook(scenario, plain_url):
    # fresh profile, straight to a kite notebook: the prewarmed interpreter may start before the
    # service worker controls the page; it is replaced once, and Interrupt works
    r = scenario("firstvisit", plain_url, tag="plain")
    check_interrupted(r)


def check_ignored(r: dict) -> None:
    assert "KeyboardInterrupt" not in r["output"], r["output"]
    m = re.search(r"survived (\d+\.\d) s", r["output"])
    assert m and float(m.group(1)) >= 3.9, r["output"]  # the sleep was not cut short
    assert re.search(r"\b42\b", r["after"]), r["after"]


def test_sig_ign_ignores_interrupt(scenario, plain_url):
    # SIG_IGN: an Interrupt during a loop and one during time.sleep change nothing
    r = scenario("ignored", plain_url, tag="plain")
    check_relay(r)
    check_ignored(r)


def test_sig_ign_ignores_interrupt_on_isolated_page_too(scenario, isolated_url):
    # the reference: the same on a cross-origin isolated page (shared memory)
    r = scenario("ignored", isolated_url, tag="isolated")
    check_ignored(r)


def test_soak_no_interrupt_lost_or_leaked(scenario, plain_url):
    # 30 rounds of loop / sleep / fib(40) interrupted at a random moment (some before the cell
    # reached the worker), each followed by an interrupt while idle and `1+1`
    r = scenario("soak", plain_url, tag="plain", rounds=30, timeout=400)
    soak = r["soak"]
    assert soak["lost"] == [], soak["lost"]
    assert soak["leaked"] == [], soak["leaked"]
    assert soak["interrupted"] == 30
