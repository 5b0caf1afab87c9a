"""Summary statistics every bench part reports the same way."""
import statistics


def stats(xs):
    """{n, median, min, max, samples} of the numbers in xs (samples keeps failures too)."""
    v = sorted(x for x in xs if isinstance(x, (int, float)))
    if not v:
        return {"n": 0, "median": None, "min": None, "max": None, "samples": xs}
    return {"n": len(v), "median": statistics.median(v), "min": v[0], "max": v[-1], "samples": xs}
