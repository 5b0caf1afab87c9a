"""Part 2: the kernels, driven through jupyter_client exactly as a Jupyter front end does (with
the test suite's driver, tests/driver.py).

    .venv/bin/python bench/kernels.py [--out build/bench/kernels.json] [--quick] [--kernels kite-node,python3]

Kernels: kite-node (build/share/jupyter/kernels, JUPYTER_PATH) and ipykernel (the .venv's
`python3` kernelspec: the native reference); kite-native too when its kernelspec is installed.
Per kernel:
  start        process spawn (KernelManager.start_kernel) -> kernel_info_reply on shell
  1+1          execute_request sent -> execute_reply received
  print 10k    `for i in range(10000): print(i)`: request -> the stream message that carries the
               last line; also the number of stream messages and the time to execute_reply
  interrupt    KernelManager.interrupt_kernel() (interrupt_request on control for kite-node,
               SIGINT for ipykernel) -> execute_reply with status error / KeyboardInterrupt, for
               `while True: pass`, naive fib(40), time.sleep(600), input()
  cpu sleep    CPU time of the kernel process (all threads, /proc) during time.sleep(5)
Prints progress on stderr and writes JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("JUPYTER_PATH", str(ROOT / "build/share/jupyter"))
sys.path.insert(0, str(ROOT / "tests"))
from driver import Kernel, clock  # noqa: E402  (the test suite's jupyter_client driver)

from common import file_id, stats  # noqa: E402


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


def ratio(a, b):
    pairs = [x / y for x, y in zip(a, b) if isinstance(x, (int, float)) and isinstance(y, (int, float)) and y]
    out = stats(pairs)
    sa, sb = stats(a), stats(b)
    out["of_medians"] = sa["median"] / sb["median"] if sa["median"] is not None and sb["median"] else None
    return out


def machine():
    return {"loadavg": list(os.getloadavg()), "cpus": os.cpu_count(), "at": time.strftime("%Y-%m-%dT%H:%M:%S")}


def kite_wasm_id(spec):
    """which kite.wasm the kite-node kernelspec runs (its --dist argument)"""
    if spec is None:
        return None
    argv = spec.argv
    dist = argv[argv.index("--dist") + 1] if "--dist" in argv else str(ROOT / "build/wasm/dist")
    f = Path(dist) / "kite.wasm"
    try:
        return file_id(f)
    except OSError as e:
        return {"file": str(f), "error": str(e)}


def proc_cpu_seconds(pid):
    """user+system CPU seconds of a process and its reaped children (all threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return sum(int(fields[i]) for i in (11, 12)) / tick  # utime, stime (fields 14, 15)


def tree_cpu_seconds(pid):
    total = proc_cpu_seconds(pid)
    try:
        import psutil
        for c in psutil.Process(pid).children(recursive=True):
            try:
                total += sum(c.cpu_times()[:2])
            except psutil.Error:
                pass
    except Exception:
        pass
    return total


def start(name):
    """A started kernel (tests/driver.py), its output appended to build/bench/kernel-<name>.log."""
    return Kernel.start(name, startup_timeout=60, log=ROOT / f"build/bench/kernel-{name}.log")


def run(k, code, timeout=120):
    r = k.execute(code, timeout, store_history=False)
    if r.reply is None or r.status != "ok":
        raise RuntimeError(f"{k.name}: {code[:60]!r}: {r.describe()}")
    return r


def bench_start(name, reps):
    out = []
    for _ in range(reps):
        k = start(name)
        out.append(k.startup_seconds * 1000)
        k.shutdown()
    log(f"{name}: start {[round(x) for x in out]} ms")
    return out


def bench_one_plus_one(k, reps):
    out = []
    for _ in range(5):
        run(k, "1+1")
    for _ in range(reps):
        r = run(k, "1+1")
        out.append((r.reply_time - r.sent_time) * 1000)
        k.results.pop(r.msg_id)
    log(f"{k.name}: 1+1 median {statistics.median(out):.2f} ms")
    return out


def bench_print(k, reps, lines=10000):
    res = {"last_stream_ms": [], "reply_ms": [], "messages": [], "bytes_ok": []}
    expected = "".join(f"{i}\n" for i in range(lines))
    for _ in range(reps):
        r = run(k, f"for i in range({lines}): print(i)")
        k.results.pop(r.msg_id)
        got, t_last = 0, None
        for m, t in zip(r.iopub, r.iopub_times):
            if m["msg_type"] == "stream":
                got += len(m["content"]["text"])
                if got >= len(expected):
                    t_last = t  # the message that carries the last line
                    break
        if t_last is None:
            raise RuntimeError(f"{k.name}: print 10k: {got} of {len(expected)} characters arrived")
        res["last_stream_ms"].append((t_last - r.sent_time) * 1000)
        res["reply_ms"].append((r.reply_time - r.sent_time) * 1000)
        res["messages"].append(len(r.of_type("stream")))
        res["bytes_ok"].append(r.stream_text() == expected)
    log(f"{k.name}: print 10k last stream {[round(x) for x in res['last_stream_ms']]} ms, messages {res['messages']}")
    return res


FIB = "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
CASES = {
    "while_true": ("", "while True: pass"),
    "fib40": (FIB, "fib(40)"),
    "sleep600": ("import time", "time.sleep(600)"),
    "input": ("", "input()"),
}


def bench_interrupt(k, case, reps):
    setup, code = CASES[case]
    if setup:
        run(k, setup)
    lat, outcomes = [], {}
    for _ in range(reps):
        # wait until the cell is running (input: until the kernel asks for input)
        msg_id = k.start_cell(code, stdin=case == "input", store_history=False)
        k.idle_for(random.uniform(0.02, 0.08))
        t0 = clock()
        k.interrupt("mode")
        r = k.collect(msg_id, 10)
        k.results.pop(msg_id)
        if r.reply is None:
            outcomes["no reply within 10 s"] = outcomes.get("no reply within 10 s", 0) + 1
            lat.append(None)
            log(f"{k.name}: {case}: no reply within 10 s of the interrupt; restarting the kernel")
            k.restart()
            if setup:
                run(k, setup)
            continue
        key = r.content.get("ename") if r.status == "error" else r.status
        outcomes[key] = outcomes.get(key, 0) + 1
        lat.append((r.reply_time - t0) * 1000 if key == "KeyboardInterrupt" else None)
    s = stats(lat)
    log(f"{k.name}: interrupt {case}: median {s['median'] and round(s['median'], 2)} ms, max {s['max'] and round(s['max'], 2)} ms, {outcomes}")
    return {"code": code, "latency_ms": lat, "outcomes": outcomes}


def bench_cpu_sleep(k, reps, seconds=5):
    run(k, "import time")
    out = []
    for _ in range(reps):
        c0, t0 = tree_cpu_seconds(k.pid), clock()
        run(k, f"time.sleep({seconds})")
        out.append((tree_cpu_seconds(k.pid) - c0) / (clock() - t0) * 100)
    log(f"{k.name}: CPU during time.sleep({seconds}): {[round(x, 1) for x in out]} % of a core")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "build/bench/kernels.json"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--kernels", default=None, help="comma-separated kernelspec names")
    a = ap.parse_args()
    ksm = KernelSpecManager()
    names = a.kernels.split(",") if a.kernels else ["kite-node", "python3", "kite-native"]
    specs = {}
    for n in names:
        try:
            specs[n] = ksm.get_kernel_spec(n)
        except NoSuchKernel:
            if n in ("kite-node", "python3"):
                log(f"FAILED: kernelspec {n} not found (JUPYTER_PATH={os.environ['JUPYTER_PATH']})")
                sys.exit(1)
            log(f"{n}: kernelspec not installed, skipped")
    if "python3" in specs:
        import ipykernel
        ipyk = ipykernel.__version__
    R = dict(start=3, one=20, prints=2, interrupts=10, interrupts_ref=5, cpu=1) if a.quick else \
        dict(start=7, one=100, prints=5, interrupts=100, interrupts_ref=30, cpu=3)
    result = {"kite_wasm": kite_wasm_id(specs.get("kite-node")), "machine_before": machine(), "reps": R, "kernels": {}, "specs": {n: s.to_dict() for n, s in specs.items()},
              "ipykernel_version": ipyk if "python3" in specs else None}
    for n in specs:
        res = result["kernels"][n] = {}
        res["start_ms"] = bench_start(n, R["start"])
        k = start(n)
        res["implementation"] = k.info.get("implementation"), k.info.get("language_info", {}).get("version")
        try:
            res["one_plus_one_ms"] = bench_one_plus_one(k, R["one"])
            res["print_10k"] = bench_print(k, R["prints"])
            reps = R["interrupts"] if n == "kite-node" else R["interrupts_ref"]
            res["interrupt"] = {c: bench_interrupt(k, c, reps) for c in CASES}
            res["cpu_during_sleep_pct"] = bench_cpu_sleep(k, R["cpu"])
        finally:
            k.shutdown()
    result["machine_after"] = machine()
    # summaries and ratios (same run)
    summ = {}
    for n, res in result["kernels"].items():
        summ[n] = {
            "start_ms": stats(res["start_ms"]),
            "one_plus_one_ms": stats(res["one_plus_one_ms"]),
            "print_10k_last_stream_ms": stats(res["print_10k"]["last_stream_ms"]),
            "print_10k_reply_ms": stats(res["print_10k"]["reply_ms"]),
            "print_10k_messages": stats(res["print_10k"]["messages"]),
            "print_10k_output_complete": all(res["print_10k"]["bytes_ok"]),
            "interrupt_ms": {c: {**stats(v["latency_ms"]), "outcomes": v["outcomes"]} for c, v in res["interrupt"].items()},
            "cpu_during_sleep_pct": stats(res["cpu_during_sleep_pct"]),
        }
    if "kite-node" in result["kernels"] and "python3" in result["kernels"]:
        kn, ip = result["kernels"]["kite-node"], result["kernels"]["python3"]
        summ["ratios_kite_node_over_ipykernel"] = {
            "start": ratio(kn["start_ms"], ip["start_ms"]),
            "one_plus_one": ratio(kn["one_plus_one_ms"], ip["one_plus_one_ms"]),
            "print_10k_last_stream": ratio(kn["print_10k"]["last_stream_ms"], ip["print_10k"]["last_stream_ms"]),
            "print_10k_messages": ratio(kn["print_10k"]["messages"], ip["print_10k"]["messages"]),
        }
    result["summary"] = summ
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1) + "\n")
    log(f"kernel results: {a.out}")


if __name__ == "__main__":
    main()
