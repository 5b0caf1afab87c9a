"""Progress lines on stderr ("[kite-wheels 02:13] numpy 2.4.6: compiling") and noisy commands run
with their output in a log file."""
from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import time

_START = time.monotonic()


def say(message: str) -> None:
    elapsed = int(time.monotonic() - _START)
    print(f"[kite-wheels {elapsed // 60:02d}:{elapsed % 60:02d}] {message}", file=sys.stderr, flush=True)


class CommandFailed(Exception):
    pass


def run(command: list[str], log: pathlib.Path, *, label: str, cwd=None, env=None,
        milestones: dict[str, str] | None = None) -> dict[str, float]:
    """Run command with stdout+stderr appended to log. milestones maps a regex to a progress
    message said the first time a line matches; ninja's "[n/N]" counters are said once a minute.
    Returns the seconds from the start of the command to each milestone reached."""
    pending = {re.compile(pattern): message for pattern, message in (milestones or {}).items()}
    counter = re.compile(r"^\[(\d+)/(\d+)\] ")
    started = last_count = time.monotonic()
    reached = {}
    with open(log, "a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, errors="replace")
        for line in process.stdout:
            out.write(line)
            for pattern in [p for p in pending if p.search(line)]:
                message = pending.pop(pattern)
                reached[message] = time.monotonic() - started
                last_count = time.monotonic()
                say(f"{label}: {message}")
            match = counter.match(line)
            if match and time.monotonic() - last_count > 60:
                last_count = time.monotonic()
                say(f"{label}: step {match[1]}/{match[2]}")
        code = process.wait()
    if code:
        tail = log.read_text(errors="replace").splitlines()[-40:]
        print("\n".join(tail), file=sys.stderr)
        raise CommandFailed(f"{label}: {command[0]} ... exited {code} (log: {log})")
    reached["done"] = time.monotonic() - started
    return reached
