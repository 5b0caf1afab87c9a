"""What the bench parts written in Python share: summary statistics, and which file was measured."""
import hashlib
import statistics
import time
from pathlib import Path


def stats(xs):
    """{n, median, min, max, samples} of the numbers in xs (samples keeps failures too)."""
    v = sorted(x for x in xs if isinstance(x, (int, float)))
    if not v:
        return {"n": 0, "median": None, "min": None, "max": None, "samples": xs}
    return {"n": len(v), "median": statistics.median(v), "min": v[0], "max": v[-1], "samples": xs}


def file_id(path: Path):
    """{file, bytes, sha256 (16 hex digits), mtime} of a measured file (kite.wasm, a wheel)."""
    b = Path(path).read_bytes()
    return {"file": str(path), "bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()[:16],
            "mtime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(Path(path).stat().st_mtime))}
