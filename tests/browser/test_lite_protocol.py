"""Jupyter protocol conformance of the browser kernel (KiteKernel in JupyterLite, headless
chromium): raw messages sent through the page's kernel connection, no UI
(tests/browser/protocol.mjs). The same behaviours as the kite-node and kite-native conformance
checks: execution counts with silent and store_history, stop_on_error, comms with binary buffers
both ways, comm_info, history, unknown request types, parent headers on every iopub message;
interrupt_request on control (busy and idle) and stdin. Also which page loads prewarm the kernel."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def checks(isolated_url, module_scenario):
    r = module_scenario("protocol", isolated_url)
    return r["checks"]


def _types(res: dict) -> list[str]:
    return [m["msg_type"] for m in res["iopub"]]


def test_kernel_info(checks):
    info = checks["kernelInfo"]
    assert info["reply"]["msg_type"] == "kernel_info_reply"
    c = info["reply"]["content"]
    assert c["status"] == "ok"
    assert c["language_info"]["name"] == "python"
    assert c["protocol_version"].startswith("5.")
    assert info["statuses"] == ["busy", "idle"]


def test_execution_counts_silent_and_store_history(checks):
    counts = checks["counts"]
    first = counts["first"]
    assert first["status"] == "ok"
    n = first["reply"]
    assert isinstance(n, int) and n >= 1
    assert first["input"] == [n] and first["result"] == [n]
    silent = counts["silent"]
    assert silent["reply"]["content"]["status"] == "ok"
    assert silent["input"] == [], "a silent execution must not publish execute_input"
    assert silent["statuses"] == ["busy", "idle"]
    assert _types(silent) == ["status", "status"], silent["iopub"]
    no_history = counts["noHistory"]
    assert no_history["reply"]["content"]["status"] == "ok"
    # store_history=False runs (and shows its result) without taking a number
    nxt = counts["next"]
    assert nxt["reply"] == n + 1, (n, nxt, no_history)
    assert nxt["input"] == [n + 1] and nxt["result"] == [n + 1]
    assert nxt["data"]["text/plain"] == "6", "the silent execution ran"


def test_stop_on_error_aborts_queued_executes(checks):
    first, second, third = checks["stopOnError"]["results"]
    assert first["reply"]["content"]["status"] == "error"
    assert first["reply"]["content"]["ename"] == "ValueError"
    assert "error" in _types(first)
    for queued in (second, third):
        assert queued["reply"]["content"]["status"] == "aborted", queued
        texts = [m["content"].get("text", "") for m in queued["iopub"]]
        assert not any("ran" in t for t in texts), queued
        assert queued["statuses"] == ["busy", "idle"], queued
    after = checks["stopOnError"]["after"]
    assert after["reply"]["content"]["status"] == "ok", "a request sent after the error runs"
    assert any("after the error" in m["content"].get("text", "") for m in after["iopub"])


def test_comm_round_trip_with_buffers(checks):
    comm = checks["comm"]
    assert comm["setup"]["reply"]["content"]["status"] == "ok", comm["setup"]
    cid = comm["commId"]
    # comm_open from the frontend: the target's answer carries the buffer back
    opened = [m for m in comm["opened"]["iopub"] if m["msg_type"] == "comm_msg"]
    assert len(opened) == 1, comm["opened"]
    assert opened[0]["content"]["comm_id"] == cid
    assert opened[0]["content"]["data"] == {"opened": {"hello": "kite"}}
    assert opened[0]["buffers"] == [[1, 2, 3]]
    # comm_msg: echoed with each buffer reversed
    echoed = [m for m in comm["echoed"]["iopub"] if m["msg_type"] == "comm_msg"]
    assert len(echoed) == 1, comm["echoed"]
    assert echoed[0]["content"]["data"] == {"echo": {"n": 7}}
    assert echoed[0]["buffers"] == [[255, 6, 5, 4], [0]]
    assert "close" in comm["pyLog"], comm["pyLog"]
    # from the kernel: comm.create_comm opens a comm on the frontend, buffer included
    opens = [m for m in comm["fromKernel"]["iopub"] if m["msg_type"] == "comm_open"]
    assert len(opens) == 1, comm["fromKernel"]
    assert opens[0]["content"]["target_name"] == "kite_front"
    assert opens[0]["content"]["data"] == {"from": "python"}
    assert opens[0]["buffers"] == [[0, 1, 254]]


def test_comm_info(checks):
    comm = checks["comm"]
    cid = comm["commId"]
    for key in ("infoAll", "infoEcho"):
        reply = comm[key]["reply"]
        assert reply["msg_type"] == "comm_info_reply"
        assert reply["content"]["status"] == "ok"
        assert reply["content"]["comms"].get(cid) == {"target_name": "kite_echo"}, reply
    assert comm["infoOther"]["reply"]["content"]["comms"] == {}
    assert cid not in comm["infoClosed"]["reply"]["content"]["comms"], "closed comm still listed"


def test_history(checks):
    reply = checks["history"]["reply"]
    assert reply["msg_type"] == "history_reply"
    assert reply["content"]["status"] == "ok"
    codes = [h[2] for h in reply["content"]["history"]]
    assert codes == ["kite_hist = 'one'", "kite_hist += ' two'"], codes


@pytest.mark.parametrize("key", ["unknown", "unknownControl"])
def test_unknown_request_type(checks, key):
    res = checks[key]
    assert res["reply"] is not None, f"no reply to an unknown request: {res}"
    assert res["reply"]["msg_type"] == "kite_bogus_reply"
    assert res["reply"]["content"]["status"] == "error"
    assert res["reply"]["content"]["ename"] == "UnknownMessageType", res["reply"]
    assert res["statuses"] == ["busy", "idle"]
    assert checks["stillAlive"]["reply"]["content"]["status"] == "ok"


def test_interrupt_request(checks):
    i = checks["interrupt"]
    assert i["reply"]["reply"]["msg_type"] == "interrupt_reply"
    assert i["reply"]["reply"]["content"]["status"] == "ok"
    assert i["replyMs"] < 1000, "the interrupt_reply must not wait for the cell"
    looped = i["looped"]["reply"]["content"]
    assert looped["status"] == "error" and looped["ename"] == "KeyboardInterrupt", looped
    assert i["queued"]["reply"]["content"]["status"] == "aborted", i["queued"]
    # while idle: answered, and the next cell is not hit by it
    assert i["idleReply"]["reply"]["content"]["status"] == "ok"
    after = i["afterIdle"]
    assert after["reply"]["content"]["status"] == "ok", after
    assert any("not interrupted" in m["content"].get("text", "") for m in after["iopub"])


def test_stdin_round_trip(checks):
    st = checks["stdin"]
    assert st["request"] is not None, "no input_request on stdin"
    assert st["request"]["msg_type"] == "input_request"
    assert st["request"]["content"]["prompt"] == "Name: "
    assert st["result"]["reply"]["content"]["status"] == "ok", st["result"]
    assert any("got kite" in m["content"].get("text", "") for m in st["result"]["iopub"])


def test_parent_header_on_every_message(checks):
    assert checks["iopubTotal"] > 20
    assert checks["orphans"] == [], "iopub messages without the parent header of a request"
    assert checks["parentMismatch"] == []
    assert checks["repliesWithoutParent"] == []


def test_prewarm_only_where_kite_is_used(scenario, isolated_url):
    r = scenario("prewarm", isolated_url)
    # a page that does not use kite downloads nothing of it and starts no worker
    assert r["plain"]["fetched"] == [], r["plain"]
    assert r["plain"]["workers"] == [], r["plain"]
    # a kite notebook (kite is the site's default kernel) prewarms, and its kernel takes the spare
    files = {f["file"] for f in r["notebook"]["fetched"]}
    assert {"kite.wasm", "worker.js"} <= files, r["notebook"]
    assert any("prewarming an interpreter" in line for line in r["console"]), r["console"][-20:]
    assert any("(prewarmed interpreter)" in line for line in r["console"]), r["console"][-20:]
