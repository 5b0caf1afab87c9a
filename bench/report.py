"""Merges the parts' JSON (build/bench/{node_raw,kernels,browser,numpy}.json) into bench/results.json,
checks the issue's targets and prints the table (markdown, also written to --md).

    python bench/report.py --out bench/results.json --md build/bench/results.md [--failed PART ...]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build/bench"


def load(name):
    p = BUILD / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def g(d, *path):
    for k in path:
        if d is None:
            return None
        d = d.get(k) if isinstance(d, dict) else None
    return d


def fmt_num(x, unit=""):
    if x is None:
        return "n/a"
    if abs(x) >= 100:
        s = f"{x:,.0f}"
    elif abs(x) >= 10:
        s = f"{x:.1f}"
    elif abs(x) >= 1:
        s = f"{x:.2f}"
    else:
        s = f"{x:.3f}"
    return s + unit


def fmt(st, unit="", scale=1.0):
    """median (min-max) [n]"""
    if not st or st.get("median") is None:
        return "n/a"
    m, lo, hi = (st[k] * scale for k in ("median", "min", "max"))
    if st.get("n", 0) <= 1 or lo == hi:
        return f"{fmt_num(m, unit)}"
    return f"{fmt_num(m, unit)} ({fmt_num(lo)}–{fmt_num(hi)})"


def fmt_ratio(r):
    if not r or r.get("median") is None:
        return "n/a"
    return f"{r['median']:.2f}× ({r['min']:.2f}–{r['max']:.2f})"


def interrupt_cell(case):
    """an interrupt figure, or the measured outcome when the runtime did not interrupt"""
    if not case:
        return "n/a"
    st, tally = case.get("stats"), case.get("tally", {})
    attempts = sum(tally.values())
    parts = []
    ki = tally.get("KeyboardInterrupt", 0)
    if st and st.get("median") is not None:
        parts.append(fmt(st, " ms") + ("" if ki == attempts else f" ({ki}/{attempts} interrupted)"))
    done = case.get("completed_after_ms")
    if done:
        parts.append(f"NOT interrupted in {len(done)}/{attempts}: the call ran to completion {fmt(stats_of(done), ' ms')} after the write")
    still = sum(v for k, v in tally.items() if k.startswith("still running"))
    if still:
        parts.append(f"NOT interrupted in {still}/{attempts}: still running {case['timeout_ms'] / 1000:.0f} s after the write (worker terminated)")
    other = {k: v for k, v in tally.items() if k.startswith("KeyboardInterrupt ") or k.startswith("error")}
    parts += [f"{v}× {k}" for k, v in other.items()]
    return "; ".join(parts) or "n/a"


def stats_of(xs):
    v = sorted(xs)
    n = len(v)
    return {"n": n, "median": (v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2), "min": v[0], "max": v[-1]}


class Table:
    def __init__(self):
        self.rows = []
        self.targets = []

    def section(self, title):
        self.rows.append(("section", title))

    def row(self, what, kite, ref, ratio="", target="", met=None):
        self.rows.append(("row", what, kite, ref, ratio, target, met))
        if target:
            self.targets.append({"what": what, "target": target, "met": met, "kite": kite, "reference": ref, "ratio": ratio})

    def markdown(self):
        out = ["| measure | kite | reference | kite / reference | target | met |", "|---|---|---|---|---|---|"]
        for r in self.rows:
            if r[0] == "section":
                out.append(f"| **{r[1]}** | | | | | |")
            else:
                _, what, kite, ref, ratio, target, met = r
                m = "" if met is None and not target else ("yes" if met else ("**no**" if met is False else "n/a"))
                out.append(f"| {what} | {kite} | {ref} | {ratio} | {target} | {m} |")
        return "\n".join(out)


def le(x, lim):
    return None if x is None else x <= lim


def numpy_rows(t, num, failed):
    """part 5 (numpy_bench.py): kite-node's wasm numpy against native numpy 2.4.6 (PyPI's wheel)"""
    python, numpy = g(num, "python") or ("", "")
    t.section(" ".join(f"numpy {numpy}: kite-node (kite's wasm wheel) vs native numpy from PyPI in /usr/bin/python3.11 {python} (and kite-native)".split()).replace(" :", ":"))
    if not num:
        t.row("part 5 (numpy_bench.py)", "FAILED" if "numpy" in failed else "not run", "", "", "", None)
        return
    s = num["summary"]
    cold, ext = s["cold_in_cell_ms"], s["cold_ext_ms"]
    t.row("cold `import numpy`: fresh kernel, numpy on disk with its .pyc, timed in the cell (ms)", fmt(cold["kite-node"]),
          f"python3.11 {fmt(cold['python3.11'])}; kite-native {fmt(cold['kite-native'])}", fmt_ratio(s["cold_ratio_over_python"]))
    t.row("… of which loading the extension modules (kite: compiling + instantiating side modules) (ms)", fmt(ext["kite-node"]),
          f"python3.11 {fmt(ext['python3.11'])}; kite-native {fmt(ext['kite-native'])}", "")
    t.row("cold `import numpy`, client: execute_request → execute_reply (ms; python3.11: the whole process)", fmt(s["cold_client_ms"]["kite-node"]),
          f"python3.11 {fmt(s['cold_client_ms']['python3.11'])}; kite-native {fmt(s['cold_client_ms']['kite-native'])}", "")
    t.row("cold `import numpy` with no .pyc yet (a freshly unpacked wheel), in the cell (ms)", fmt(s["cold_no_pyc_in_cell_ms"]), "", "")
    t.row("`%pip install numpy` from a local index (kite-node, 3.5 MB wheel): execute → reply (ms)", fmt(s["pip_install_ms"]), "", "")
    t.row("`import numpy` sent right after the install's reply: in the cell (extension modules) / client (ms)",
          f"{fmt(s['after_pip_immediate_in_cell_ms'])} ({fmt(s['after_pip_immediate_ext_ms'])}) / {fmt(s['after_pip_immediate_client_ms'])}",
          f"cold, no .pyc {fmt(s['cold_no_pyc_in_cell_ms'])}", "")
    om = s["other_modules"]
    t.row("other (stdlib) modules `import numpy` imported on the way: cold / after `%pip install` (the installer imported some of them)",
          f"{om['cold']['median']:.0f} / {om['after_pip']['median']:.0f}", f"python3.11 {om['python3.11']['median']:.0f}", "")
    t.row("side modules preloaded between messages: the last one ready, after the install (ms)", fmt(s["preload_done_ms"]), "", "")
    t.row("`import numpy` once all side modules are preloaded: in the cell (extension modules) / client (ms)",
          f"{fmt(s['after_pip_preloaded_in_cell_ms'])} ({fmt(s['after_pip_preloaded_ext_ms'])}) / {fmt(s['after_pip_preloaded_client_ms'])}",
          f"cold, no .pyc {fmt(s['cold_no_pyc_in_cell_ms'])} (extension modules {fmt(ext['kite-node'])} cold)", "")
    labels = {"add": "vector add, two 1e6 float64 arrays", "sum": "sum of 1e6 float64", "sort": "sort 1e6 random floats",
              "matmul": "200×200 float64 matmul (kite: no BLAS; native: OpenBLAS, 1 thread)"}
    for op, label in labels.items():
        o = s["ops"][op]
        t.row(f"{label}, best of {g(num, 'reps', 'ops_repeat')} (ms)", fmt_num(o["kite-node_best_ms"]),
              f"python3.11 {fmt_num(o['python3.11_best_ms'])}", f"{o['ratio_best']:.2f}×")
    z = num["sizes"]
    base = z["base"]
    t.row("kernel download for a user who never imports numpy: kite.wasm + kite.js + kite-stdlib.zip + worker.js, gzip -9 (MB)",
          f"{z['base_gzip9_total'] / 1e6:.2f} (kite.wasm {base['kite.wasm']['gzip9'] / 1e6:.2f}, kite.js {base['kite.js']['gzip9'] / 1e6:.3f}, "
          f"kite-stdlib.zip {base['kite-stdlib.zip']['gzip9'] / 1e6:.2f}, worker.js {base['worker.js']['gzip9'] / 1e6:.3f})", "", "")
    t.row("… what the main module added: kite.wasm + kite.js, gzip -9 (MB)", f"{z['kite_wasm_js_gzip9'] / 1e6:.2f}",
          f"before kite.wasm became a main module: {z['kite_wasm_js_before_main_module_gzip9'] / 1e6:.2f} (kite.wasm {base['kite.wasm']['before_main_module_gzip9'] / 1e6:.2f}, "
          f"kite.js {base['kite.js']['before_main_module_gzip9'] / 1e6:.3f})",
          f"+{z['main_module_added_gzip9'] / 1e6:.2f} MB", "≤ +0.5 MB gzip (issue 13)", z["main_module_added_gzip9"] <= 500_000)
    n = z["numpy"]
    t.row("numpy's download: the wheel (stored deflated; served as is) (MB)",
          f"{n['wheel_bytes'] / 1e6:.2f} ({n['side_modules']} side modules {n['side_modules_bytes'] / 1e6:.2f} raw, {n['side_modules_in_wheel_deflated'] / 1e6:.2f} deflated in the wheel, "
          f"{n['side_modules_gzip9'] / 1e6:.2f} gzip -9; other files {n['other_files_in_wheel'] / 1e6:.2f})", "", "")
    py = num["pyodide"]
    t.row("Pyodide's own numpy (npm pyodide %s)" % py["pyodide_npm"], "", py["verdict"] + ("" if py["available"] else f": {py['reason']}"), "")


def build(raw, ker, brw, failed, num=None):
    t = Table()
    # ------------------------------------------------------------ part 1
    t.section("Node %s, raw runtimes in a worker (kite: Python %s in wasm; npm pyodide %s: Python %s)" % (
        g(raw, "machine_before", "node"), g(raw, "versions", "kite"), g(raw, "versions", "pyodide_npm"), g(raw, "versions", "pyodide")))
    if raw:
        s = raw["summary"]
        cs = s["cold_start"]
        r = g(cs, "ratios_kite_over_pyodide", "fresh_process")
        t.row("cold start, fresh `node` process → `1+1` result (ms)", fmt(g(cs, "kite", "fresh_process_ms")), "pyodide " + fmt(g(cs, "pyodide", "fresh_process_ms")),
              fmt_ratio(r), "≤ 0.25× Pyodide", le(g(r, "median"), 0.25))
        r2 = g(cs, "ratios_kite_over_pyodide", "new_worker")
        t.row("cold start, new worker in a warm process → `1+1` (ms)", fmt(g(cs, "kite", "new_worker_ms")), "pyodide " + fmt(g(cs, "pyodide", "new_worker_ms")), fmt_ratio(r2))
        names = {"while_true": "`while True: pass`", "fib": "recursive `fib(40)`", "sleep": "`time.sleep(600)` (Pyodide: `time.sleep(3)`)", "regex": "regex backtracking `(a+)+$`"}
        for case, label in names.items():
            k = g(raw, "interrupt", "kite", case)
            p = g(raw, "interrupt", "pyodide", case)
            target, met = "", None
            if case == "sleep":
                target = "≤ 5 ms (Pyodide does not interrupt)"
                met = le(g(k, "stats", "median"), 5) if k else None
            t.row(f"interrupt {label}: write → error result in main thread (ms)", interrupt_cell(k),
                  "pyodide " + interrupt_cell(p), "", target, met)
        cpu = raw.get("cpu_during_sleep_pct", {})
        t.row("CPU during `time.sleep(5)` (% of a core, whole process)", fmt(cpu.get("kite"), " %"), "pyodide " + fmt(cpu.get("pyodide"), " %"), "", "≤ 5 % (issue 2: < 5 %)",
              None if not cpu.get("kite") else cpu["kite"]["median"] < 5)
        po = raw.get("polling_overhead", {})
        for w, lim in (("loop", 3), ("calls", 8)):
            k = g(po, "kite", w)
            p = g(po, "pyodide", w)
            what = "pure-Python `while` loop" if w == "loop" else "call-heavy (`fib`)"
            kt = "n/a" if not k else (f"{k['overhead_pct']:+.1f} % (on {fmt(k['on_s'], ' s')}, off {fmt(k['off_s'], ' s')}; "
                                      f"ratio of medians {k.get('overhead_pct_of_medians', 0):+.1f} %, of minima {k.get('overhead_pct_of_mins', 0):+.1f} %)")
            pt = "n/a" if not p else f"pyodide {p['overhead_pct']:+.1f} %"
            t.row(f"interrupt-polling cost, {what}: buffer installed vs not, same module (median of paired runs)", kt, pt, fmt_ratio(g(k, "on_over_off")), f"≤ {lim} %",
                  None if not k else k["overhead_pct"] <= lim)
        ps = raw.get("pystone_per_s", {})
        pr = raw.get("pystone_ratios", {})
        t.row("pystone throughput (pystones/s)", fmt(ps.get("kite")),
              f"pyodide {fmt(ps.get('pyodide'))}; pyodide {g(raw, 'versions', 'pyodide023_npm')} (Python {g(raw, 'versions', 'pyodide023')}) {fmt(ps.get('pyodide023'))}; native CPython {g(raw, 'versions', 'native')} {fmt(ps.get('native'))}",
              f"{fmt_ratio(pr.get('kite_over_pyodide'))} of Pyodide {g(raw, 'versions', 'pyodide_npm')}; {fmt_ratio(pr.get('kite_over_pyodide023'))} of Pyodide {g(raw, 'versions', 'pyodide023_npm')}; {fmt_ratio(pr.get('kite_over_native'))} of native",
              "≥ 0.9× Pyodide",
              le(0.9, g(pr, "kite_over_pyodide", "median") or 0) if pr.get("kite_over_pyodide") else None)
    else:
        t.row("part 1 (node_raw.mjs)", "FAILED" if "raw" in failed else "not run", "", "", "", None)
    # ------------------------------------------------------------ part 2
    t.section("Node 20, Jupyter kernels via jupyter_client (kite-node vs ipykernel %s)" % (g(ker, "ipykernel_version") or ""))
    if ker and "kite-node" in ker["summary"]:
        kn, ip = ker["summary"]["kite-node"], ker["summary"].get("python3", {})
        rr = ker["summary"].get("ratios_kite_node_over_ipykernel", {})
        t.row("kernel start: spawn → kernel_info_reply (ms)", fmt(kn["start_ms"]), "ipykernel " + fmt(ip.get("start_ms")), fmt_ratio(rr.get("start")),
              "median ≤ 700 ms", le(kn["start_ms"]["median"], 700))
        t.row("`1+1`: execute_request → execute_reply (ms)", fmt(kn["one_plus_one_ms"]), "ipykernel " + fmt(ip.get("one_plus_one_ms")), fmt_ratio(rr.get("one_plus_one")),
              "median ≤ 3 ms", le(kn["one_plus_one_ms"]["median"], 3))
        r = rr.get("print_10k_last_stream")
        t.row("10,000 `print` lines: request → last stream message (ms)", fmt(kn["print_10k_last_stream_ms"]), "ipykernel " + fmt(ip.get("print_10k_last_stream_ms")),
              fmt_ratio(r), "no slower than ipykernel", None if not r else r["of_medians"] <= 1.0)
        t.row("10,000 `print` lines: stream messages", fmt(kn["print_10k_messages"]), "ipykernel " + fmt(ip.get("print_10k_messages")), fmt_ratio(rr.get("print_10k_messages")),
              "far fewer than 10,000", None if kn["print_10k_messages"]["median"] is None else kn["print_10k_messages"]["max"] <= 1000)
        for case, label in (("while_true", "`while True: pass`"), ("fib40", "naive `fib(40)`"), ("sleep600", "`time.sleep(600)`"), ("input", "`input()`")):
            k = kn["interrupt_ms"][case]
            p = ip.get("interrupt_ms", {}).get(case)
            ok = k["median"] is not None and k["median"] <= 5 and k["max"] <= 50 and k["n"] == sum(k["outcomes"].values())
            t.row(f"interrupt {label}: interrupt_request → error execute_reply (ms, n={sum(k['outcomes'].values())})", fmt(k) + ("" if k["n"] == sum(k["outcomes"].values()) else f" outcomes {k['outcomes']}"),
                  "ipykernel " + fmt(p) + (f" (n={sum(p['outcomes'].values())}, SIGINT)" if p else ""), "", "median ≤ 5, max ≤ 50 ms", ok)
        t.row("CPU during `time.sleep(5)` (% of a core, kernel process)", fmt(kn["cpu_during_sleep_pct"], " %"), "ipykernel " + fmt(ip.get("cpu_during_sleep_pct"), " %"), "",
              "< 5 %", None if kn["cpu_during_sleep_pct"]["median"] is None else kn["cpu_during_sleep_pct"]["max"] < 5)
        kv = ker["summary"].get("kite-native")
        if kv:
            t.row("kite-native (xeus) for reference: start / `1+1` / 10k prints (ms)", f"{fmt(kv['start_ms'])} / {fmt(kv['one_plus_one_ms'])} / {fmt(kv['print_10k_last_stream_ms'])}", "", "")
            t.row("kite-native: interrupt `while True` / `fib(40)` / `sleep` / `input()` (ms)", " / ".join(fmt(kv["interrupt_ms"][c]) for c in ("while_true", "fib40", "sleep600", "input")), "", "")
    else:
        t.row("part 2 (kernels.py)", "FAILED" if "kernels" in failed else "not run", "", "", "", None)
    # ------------------------------------------------------------ part 3
    t.section("Headless Chromium %s, JupyterLite sites (kite vs jupyterlite-pyodide-kernel 0.8.6, served by wasm/serve.py)" % (g(brw, "chromium") or ""))
    if brw and "kite" in brw["summary"] and "pyodide" in brw["summary"]:
        k, p = brw["summary"]["kite"], brw["summary"]["pyodide"]
        rr = brw["summary"].get("ratios_kite_over_pyodide", {})
        t.row("REPL page load → kernel idle (ms)", fmt(k["load_to_idle_ms"]), "pyodide " + fmt(p["load_to_idle_ms"]), fmt_ratio(rr.get("load_to_idle")),
              "≤ 0.5× Pyodide", le(g(rr, "load_to_idle", "median"), 0.5))
        t.row("REPL page load → first `1+1` result (ms)", fmt(k["load_to_first_result_ms"]), "pyodide " + fmt(p["load_to_first_result_ms"]), fmt_ratio(rr.get("load_to_first_result")))
        t.row("`1+1`: Shift+Enter → output in the page (ms)", fmt(k["one_plus_one_ms"]), "pyodide " + fmt(p["one_plus_one_ms"]), "")
        t.row("bytes downloaded for the kernel (MB, as served: gzip where the server compresses)", fmt(k["kernel_bytes"], "", 1e-6), "pyodide " + fmt(p["kernel_bytes"], "", 1e-6),
              fmt_ratio(rr.get("kernel_bytes")))
        t.row("bytes downloaded for the whole REPL page (MB)", fmt(k["page_bytes"], "", 1e-6), "pyodide " + fmt(p["page_bytes"], "", 1e-6), "")
        ki, pi = k["interrupts"], p["interrupts"]

        def icell(s, i):
            base = fmt(s["interrupt_click_to_traceback_ms"], " ms") if s["interrupt_click_to_traceback_ms"]["median"] is not None else "none"
            errs = s.get("errors") or []
            tail = f"; {len(errs)} run(s) failed before the click: {errs[0]}" if errs else ""
            return f"{base} ({i['interrupted']}/{i['attempted']} interrupted within {i['timeout_ms'] / 1000:.0f} s{tail})"
        t.row("notebook: interrupt click → KeyboardInterrupt traceback, `while True: pass`", icell(k, ki), "pyodide " + icell(p, pi), "")
        if k.get("stdlib_imports_ms"):
            t.row("notebook: 17 standard-library imports in one cell, none loaded before (ms, timed in the cell)", fmt(k["stdlib_imports_ms"]),
                  "pyodide " + fmt(p.get("stdlib_imports_ms")), fmt_ratio(rr.get("stdlib_imports")))
    else:
        t.row("part 3 (browser.mjs)", "FAILED" if "browser" in failed else "not run", "", "", "", None)
    # ------------------------------------------------------------ part 5
    numpy_rows(t, num, failed)
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "bench/results.json"))
    ap.add_argument("--md", default=str(BUILD / "results.md"))
    ap.add_argument("--failed", nargs="*", default=[])
    ap.add_argument("--load-before", default=None)
    a = ap.parse_args()
    raw, ker, brw, num = load("node_raw"), load("kernels"), load("browser"), load("numpy")
    t = build(raw, ker, brw, a.failed, num)
    md = t.markdown()
    loads = {k: g(v, "machine_before", "loadavg") for k, v in (("node_raw", raw), ("kernels", ker), ("browser", brw))}
    loads["numpy"] = g(num, "loadavg_before")
    note = (f"Machine: {os.cpu_count()} CPUs, {platform.platform()}; 1-min load average at the start of each part: "
            + ", ".join(f"{k} {v[0]:.2f}" for k, v in loads.items() if v)
            + ". Figures: median (min–max) over the repeated runs; ratios: kite / reference from the same run (median of paired ratios, with min–max).")
    ids = {k: g(v, "kite_wasm") for k, v in (("node_raw", raw), ("kernels", ker), ("browser", brw), ("numpy", num)) if g(v, "kite_wasm")}
    shas = {i.get("sha256") for i in ids.values()}
    note += " kite.wasm measured: " + ", ".join(f"{k} {i.get('sha256')} ({i.get('bytes')} B, {i.get('mtime')})" for k, i in ids.items()) + "."
    if len(shas) > 1:
        note += " WARNING: the parts measured different kite.wasm builds (is build/site older than build/wasm/dist? `make site`)."
    print(md)
    print()
    print(note)
    Path(a.md).parent.mkdir(parents=True, exist_ok=True)
    Path(a.md).write_text(md + "\n\n" + note + "\n")
    res = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "command": "make bench",
        "note": note,
        "failed_parts": a.failed,
        "targets": t.targets,
        "table_markdown": md,
        "node_raw": raw,
        "kernels": ker,
        "browser": brw,
        "numpy": num,
    }
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    met = sum(1 for x in t.targets if x["met"] is True)
    print(f"\ntargets met: {met}/{len(t.targets)}; results: {a.out}")


if __name__ == "__main__":
    main()
