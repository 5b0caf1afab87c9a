"""ipywidgets 8, unchanged from PyPI, over the Jupyter protocol: what a notebook frontend
(JupyterLab's widget manager) sees and sends. A widget opens a comm (`jupyter.widget`), the
client's state update reaches a Python observer, the kernel's update reaches the client, binary
buffers flow both ways, Button clicks call on_click, the Output widget captures by msg_id,
interact and jslink build their models, and an interrupt during a widget callback is delivered.

kite-native imports the ipywidgets of the venv it embeds; kite-node installs it with `%pip`
from the local package index (tests/pypi_index.py) first.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernels import Kernel, k, kernel, kernel_names  # noqa: F401

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# ipywidgets and the pure-Python packages it needs besides IPython (kite's shell stands in)
WIDGET_WHEELS = [("ipywidgets", "8.1.9", []), ("comm", "0.2.3", []), ("traitlets", "5.14.3", []),
                 ("widgetsnbextension", "4.0.16", []), ("jupyterlab_widgets", "3.0.17", [])]
WIDGET_PACKAGES = [f"{name}=={version}" for name, version, _ in WIDGET_WHEELS]
CACHE = Path(os.environ.get("KITE_CACHE", Path.home() / ".cache" / "kite"))


def native_widgets_dir() -> Path:
    """The widget packages unpacked once for kite-native (which embeds the system Python: the
    tests must not install into it), keyed by the pinned list."""
    key = hashlib.sha256(json.dumps(WIDGET_PACKAGES).encode()).hexdigest()[:12]
    target = CACHE / f"native-widgets-{key}"
    if not (target / "ipywidgets").is_dir():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                        str(target), *WIDGET_PACKAGES], check=True)
    return target


@pytest.fixture(scope="module")
def widgets_kernel(kernel: Kernel) -> Kernel:
    if kernel.name == "kite-node":
        # `%pip install ipywidgets` from a local index of the real wheels (ipython, which
        # ipywidgets requires, is provided by kite's shell and not installed)
        from pypi_index import IndexServer
        with IndexServer(wheels=WIDGET_WHEELS) as index:
            r = kernel.execute_ok(f"%pip install --index-url {index.simple_url} ipywidgets", timeout=120)
        out = r.stream_text()
        assert "Successfully installed" in out and "ipywidgets-8.1.9" in out, r.describe()
        assert "ipython: provided by kite's built-in shell" in out, out
    else:
        kernel.execute_ok(f"import sys; sys.path.insert(0, {str(native_widgets_dir())!r})")
    kernel.execute_ok("import ipywidgets as widgets")
    return kernel


def comm_opens(r, model: str | None = None) -> list[dict]:
    opens = [m for m in r.of_type("comm_open") if m["content"]["target_name"] == "jupyter.widget"]
    if model:
        opens = [m for m in opens if m["content"]["data"]["state"].get("_model_name") == model]
    return opens


def updates(r, comm_id: str) -> list[dict]:
    return [m["content"]["data"]["state"] for m in r.of_type("comm_msg")
            if m["content"]["comm_id"] == comm_id and m["content"]["data"].get("method") == "update"]


def until_idle(k: Kernel, msg_id: str, timeout: float = 15):
    """A comm_msg has no reply: it is over when its idle status comes."""
    r = k.results[msg_id]
    k.wait_for(lambda: r.idle, timeout)
    return r


def send_comm(k: Kernel, comm_id: str, data: dict, buffers: list | None = None):
    msg_id = k.send("shell", "comm_msg", {"comm_id": comm_id, "data": data}, buffers)
    r = until_idle(k, msg_id)
    assert r.idle, f"comm_msg not handled: {r.describe()}"
    return r


def test_slider_round_trip(widgets_kernel: Kernel) -> None:
    k = widgets_kernel
    r = k.execute_ok("s = widgets.IntSlider(value=3, description='n')\n"
                     "seen = []\n"
                     "s.observe(lambda change: seen.append(change['new']), 'value')\n"
                     "s")
    (opened,) = comm_opens(r, "IntSliderModel")
    comm_id = opened["content"]["comm_id"]
    assert opened["content"]["data"]["state"]["value"] == 3
    assert opened["metadata"].get("version", "").startswith("2."), opened
    views = [m["content"]["data"][WIDGET_VIEW] for m in r.of_type("execute_result")]
    assert views and views[0]["model_id"] == comm_id, r.describe()

    # the frontend moves the slider: the observer sees it
    send_comm(k, comm_id, {"method": "update", "state": {"value": 7}, "buffer_paths": []})
    assert k.expr("(s.value, seen)") == "(7, [7])"

    # the kernel changes it: the frontend gets an update
    r = k.execute_ok("s.value = 9")
    assert {"value": 9} in updates(r, comm_id), r.describe()


def test_binary_buffers_both_ways(widgets_kernel: Kernel) -> None:
    k = widgets_kernel
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    r = k.execute_ok(f"img = widgets.Image(value={png!r}, format='png')")
    (opened,) = comm_opens(r, "ImageModel")
    assert opened["content"]["data"]["buffer_paths"] == [["value"]]
    assert [bytes(b) for b in opened["buffers"]] == [png]
    comm_id = opened["content"]["comm_id"]
    new = b"\x89PNG\r\n\x1a\n" + b"new-bytes" * 100
    send_comm(k, comm_id, {"method": "update", "state": {}, "buffer_paths": [["value"]]}, [new])
    assert k.expr("img.value == %r" % new) == "True"


def test_button_click_calls_on_click_and_prints(widgets_kernel: Kernel) -> None:
    k = widgets_kernel
    r = k.execute_ok("b = widgets.Button(description='go')\nclicks = []\n"
                     "def clicked(btn):\n    clicks.append(btn.description)\n    print('clicked!')\n"
                     "b.on_click(clicked)")
    (opened,) = comm_opens(r, "ButtonModel")
    comm_id = opened["content"]["comm_id"]
    r = send_comm(k, comm_id, {"method": "custom", "content": {"event": "click"}})
    assert "clicked!" in r.stream_text(), r.describe()
    assert r.of_type("stream")[0]["parent_header"]["msg_type"] == "comm_msg"
    assert k.expr("clicks") == "['go']"


def test_output_widget_captures_by_msg_id(widgets_kernel: Kernel) -> None:
    k = widgets_kernel
    r = k.execute_ok("out = widgets.Output()")
    (opened,) = comm_opens(r, "OutputModel")
    comm_id = opened["content"]["comm_id"]
    msg_id = k.send_execute("with out:\n    print('inside the output widget')")
    r = k.collect(msg_id)
    assert r.status == "ok", r.describe()
    ids = [u["msg_id"] for u in updates(r, comm_id) if "msg_id" in u]
    assert ids[:1] == [msg_id] and ids[-1] == "", f"Output widget msg_id updates {ids}"
    printed = [m for m in r.of_type("stream") if "inside the output widget" in m["content"]["text"]]
    assert printed and printed[0]["parent_header"]["msg_id"] == msg_id


def test_interact_and_jslink(widgets_kernel: Kernel) -> None:
    k = widgets_kernel
    r = k.execute_ok("def square(x):\n    return x * x\nui = widgets.interact(square, x=4)")
    assert comm_opens(r, "IntSliderModel") and comm_opens(r, "OutputModel"), r.describe()
    assert any(WIDGET_VIEW in m["content"]["data"] for m in r.of_type("display_data")), r.describe()
    # interact shows square(4) in its Output widget: a display/execute result of 16
    texts = [m["content"]["data"].get("text/plain") for m in r.of_type("display_data", "execute_result")]
    assert "16" in texts, r.describe()
    r = k.execute_ok("a = widgets.IntSlider(); b = widgets.IntSlider()\n"
                     "link = widgets.jslink((a, 'value'), (b, 'value'))")
    assert comm_opens(r, "LinkModel"), r.describe()


def test_interrupt_during_widget_callback(widgets_kernel: Kernel) -> None:
    k = widgets_kernel
    r = k.execute_ok("slow = widgets.Button()\n"
                     "import time\n"
                     "def wait(btn):\n    time.sleep(60)\n"
                     "slow.on_click(wait)\nstate_kept = 'yes'")
    (opened,) = comm_opens(r, "ButtonModel")
    comm_id = opened["content"]["comm_id"]
    # A click runs the callback under the comm_msg; the kernel is busy until it ends.
    msg_id = k.send("shell", "comm_msg", {"comm_id": comm_id,
                                          "data": {"method": "custom", "content": {"event": "click"}}})
    time.sleep(0.5)
    t0 = time.monotonic()
    k.interrupt()
    r = until_idle(k, msg_id, timeout=20)
    elapsed = time.monotonic() - t0
    assert r.idle and elapsed < 5, f"callback not interrupted: {elapsed:.1f}s {r.describe()}"
    assert [m["content"]["ename"] for m in r.of_type("error")] == ["KeyboardInterrupt"], r.describe()
    assert k.expr("state_kept") == "'yes'"


def test_widget_updates_while_a_long_cell_runs(widgets_kernel: Kernel) -> None:
    """A progress bar moved by a running cell: each update reaches the frontend while the cell
    still runs (not batched until its reply)."""
    k = widgets_kernel
    r = k.execute_ok("bar = widgets.IntProgress(max=4)")
    (opened,) = comm_opens(r, "IntProgressModel")
    comm_id = opened["content"]["comm_id"]
    r = k.execute_ok("import time\nfor i in range(1, 5):\n    bar.value = i\n    time.sleep(0.3)")
    times = [t for m, t in zip(r.iopub, r.iopub_times)
             if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id]
    assert [u["value"] for u in updates(r, comm_id)] == [1, 2, 3, 4], r.describe()
    # the first update arrived about a second before the cell ended
    assert r.reply_time - times[0] > 0.6, f"updates held back: {[r.reply_time - t for t in times]}"
