"""ipywidgets and magics in kite's JupyterLite site, as a user meets them: `%pip install
ipywidgets` from the site's bundled packages (offline: the site bundles ipywidgets, see
wasm/jupyterlite/site/jupyter_lite_config.json), a slider rendered and dragged with the mouse
whose Python observer prints into an Output widget, `interact` rendering and recomputing on a key
press, `%time` and `%%html`. Screenshots: test-artifacts/browser/widgets-*.png.
"""
from __future__ import annotations

import re


def test_widgets_and_magics_in_a_notebook(scenario, isolated_url):
    r = scenario("widgets", isolated_url, timeout=300)
    assert "Successfully installed" in r["install"] and "ipywidgets-8" in r["install"], r["install"]
    assert "provided by kite's built-in shell" in r["install"], r["install"]
    # the drag moved the slider from 10 to about 75: the observer printed the new value
    values = re.findall(r"observed (\d+)", r["observed"])
    assert values and 40 <= int(values[-1]) <= 100, r["observed"]
    assert r["sliderValue"].strip() == values[-1], (r["sliderValue"], values)
    assert "4 squared is 16" in r["interact"] and "5 squared is 25" in r["interactAfterKey"], r
    assert re.search(r"Wall time: \d", r["time"]) and "CPU times" not in r["time"], r["time"]
    assert r["html"] == "bold from a cell magic", r["html"]
    print(f"import ipywidgets + first slider shown: {r['sliderShownMs']} ms")


def test_demo_notebook_runs_unchanged(scenario, isolated_url):
    """The demo site's widgets-and-magics.ipynb, Run All: every cell ends, no error output."""
    r = scenario("demo", isolated_url, timeout=300, notebook="widgets-and-magics.ipynb")
    outputs = r["outputs"]
    assert not r["errors_shown"], r["errors_shown"]
    assert not any("Traceback" in o or "Error" in o for o in outputs), outputs
    text = "\n".join(outputs)
    for expected in ("Successfully installed", "kite kite", "Wall time", "per loop",
                     "Writing hello.py", "hello, kite!", "Variable", "kite shell"):
        assert expected in text, (expected, outputs)
