"""numpy in kite's JupyterLite site (issue 13 item 6), as a user meets it: the site bundles kite's
numpy wheel (build/wheels, KiteAddon.wheels in wasm/jupyterlite/site/jupyter_lite_config.json), so
a plain `import numpy as np` installs it from the site first; a computation; a Python loop of
numpy calls stopped with the toolbar's Interrupt; the state kept. Then, after a kernel restart,
`%pip install numpy` and the next cell's import, which finds the side modules the worker loaded
while idle. Both on a cross-origin isolated page (shared memory) and on a page without the
headers (Interrupt through the service worker). Times are printed (figures, not asserted).
Screenshots: test-artifacts/browser/[plain-]numpy-*.png."""
from __future__ import annotations

import re

import pytest

from checks import INTERRUPT_BUDGET_MS
from conftest import SITE, _in_ci

NUMPY_VERSION = "2.4.6"
RELAY_LINE = "interrupt channel: service worker"


@pytest.fixture(scope="module", params=["isolated", "plain"])
def run(request, module_scenario):
    if not list((SITE / "kite-packages").glob("numpy-*.whl")):
        reason = "the site bundles no numpy wheel (make wheels, then make site)"
        if _in_ci():
            pytest.fail(reason + " [CI=true: the build is supposed to produce it]", pytrace=False)
        pytest.skip(reason)
    url = request.getfixturevalue(f"{request.param}_url")
    r = module_scenario("numpy", url, tag=request.param, timeout=300)
    r["kind"] = request.param
    return r


def test_plain_import_installs_the_bundled_wheel(run):
    assert run["isolated"] is (run["kind"] == "isolated")
    assert "kite: installing numpy from this site's packages" in run["importOutput"], run
    assert "Traceback" not in run["importOutput"], run["importOutput"]
    assert run["importOutput"].strip().endswith(NUMPY_VERSION), run["importOutput"]
    print(f"[{run['kind']}] cold `import numpy as np` (download + install + compile): {run['importMs']} ms")


def test_a_computation(run):
    text = run["computed"]
    assert "[2. 3.]" in text, text  # np.linalg.solve
    # default_rng(0).random(3), as native numpy gives it
    assert re.search(r"array\(\[0\.6369616\d*, 0\.2697867\d*, 0\.0409735\d*\]\)", text), text


def test_interrupt_a_loop_of_numpy_calls(run):
    assert run["statusBeforeInterrupt"] == "busy"
    assert "KeyboardInterrupt" in run["output"], run["output"]
    assert run["interruptMs"] is not None and run["interruptMs"] < INTERRUPT_BUDGET_MS, run["interruptMs"]
    assert run["statusAfter"] == "idle"
    if run["kind"] == "plain":
        kite = "\n".join(run["kite"])
        assert RELAY_LINE in kite, kite
    print(f"[{run['kind']}] Interrupt click -> KeyboardInterrupt shown: {run['interruptMs']:.0f} ms")


def test_state_survives_the_interrupt(run):
    # v was advanced by the loop and left whole; x from the first cell is still there
    assert run["after"].split() == ["True", "True", "42"], run["after"]


def test_import_after_pip_install_finds_preloaded_side_modules(run):
    assert run["restarted"].split() == ["False", "False"], run["restarted"]  # a fresh interpreter
    assert f"Successfully installed numpy-{NUMPY_VERSION}" in run["pip"], run["pip"]
    assert "array([3, 5, 7])" in run["preloadedOutput"], run["preloadedOutput"]
    # the worker loaded numpy's extension modules between the two cells
    assert run["preloadedLines"], run["console"][-40:]
    assert any("_multiarray_umath" in line for line in run["preloadedLines"]), run["preloadedLines"]
    lines = "\n".join(run["preloadedLines"])
    ready_ms = max(int(ms) for ms in re.findall(r"\((\d+) ms after the install\)", lines))
    print(f"[{run['kind']}] %pip install numpy: {run['pipMs']} ms; its {len(run['preloadedLines'])} side "
          f"modules ready {ready_ms} ms after the install; the next cell's `import numpy`: "
          f"{run['preloadedImportMs']} ms (cold bundled import: {run['importMs']} ms)")
