"""%time / %%time and %timeit / %%timeit, with IPython's options and output format. Both run
in the user's namespace; the timed code is ordinary Python, so Interrupt stops it like any loop."""

import math
import sys
import time

from . import parse_options, user_ns


def format_time(timespan, precision=3):
    """IPython's _format_time: 3 significant digits in s / ms / μs / ns, or 1h 2min 3s."""
    if timespan >= 60.0:
        parts = [("d", 86400), ("h", 3600), ("min", 60), ("s", 1)]
        out = []
        leftover = timespan
        for suffix, length in parts:
            value = int(leftover / length)
            if value > 0:
                leftover = leftover % length
                out.append("%s%s" % (value, suffix))
            if leftover < 1:
                break
        return " ".join(out)
    units = ["s", "ms", "\u03bcs", "ns"]
    scaling = [1, 1e3, 1e6, 1e9]
    order = min(-int(math.floor(math.log10(timespan)) // 3), 3) if timespan > 0.0 else 3
    return "%.*g %s" % (precision, timespan * scaling[order], units[order])


def _cpu():
    """(user, system) CPU seconds of this process, or None where the platform cannot tell: in
    WebAssembly times() and getrusage() answer zeros, so %time leaves the CPU line out there, as
    IPython does on Windows."""
    if sys.platform == "emscripten":
        return None
    try:
        import resource
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime, usage.ru_stime
    except (ImportError, AttributeError, OSError):
        return time.process_time(), 0.0


def _split_last_expression(source, filename):
    """(exec code or None, eval code or None) of `source`: the last expression is evaluated
    separately so its value is returned, as IPython's %time does."""
    import ast
    from .. import runner
    tree = ast.parse(source, filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    body = runner.compile_user(tree, filename, "exec") if tree.body else None
    expr = runner.compile_user(last, filename, "eval") if last is not None else None
    return body, expr


def _time(source):
    from .. import runner
    ns = user_ns()
    t0 = time.perf_counter()
    body, expr = _split_last_expression(source, "<timed exec>")
    compile_time = time.perf_counter() - t0
    wall0, cpu0 = time.perf_counter(), _cpu()
    value = None
    try:
        if body is not None:
            runner.run_code(body)
        if expr is not None:
            value = runner.run_code(expr)
    finally:
        wall, cpu = time.perf_counter() - wall0, _cpu()
        if cpu is not None:
            user, system = cpu[0] - cpu0[0], cpu[1] - cpu0[1]
            print("CPU times: user %s, sys: %s, total: %s"
                  % (format_time(user), format_time(system), format_time(user + system)))
        print("Wall time: %s" % format_time(wall))
        if compile_time > 0.1:
            print("Compiler : %s" % format_time(compile_time))
    del ns
    return value


def time_line(line):
    return _time(line)


def time_cell(line, cell):
    return _time(cell)


class TimeitResult:
    """What `%timeit -o` returns (IPython's TimeitResult)."""

    def __init__(self, loops, repeat, best, worst, all_runs, compile_time, precision):
        self.loops = loops
        self.repeat = repeat
        self.best = best
        self.worst = worst
        self.all_runs = all_runs
        self.compile_time = compile_time
        self._precision = precision
        self.timings = [dt / loops for dt in all_runs]

    @property
    def average(self):
        return math.fsum(self.timings) / len(self.timings)

    @property
    def stdev(self):
        mean = self.average
        return (math.fsum((x - mean) ** 2 for x in self.timings) / len(self.timings)) ** 0.5

    def __str__(self):
        return ("{mean} \u00b1 {std} per loop (mean \u00b1 std. dev. of {runs} run{rs}, "
                "{loops:,} loop{ls} each)").format(
            mean=format_time(self.average, self._precision),
            std=format_time(self.stdev, self._precision),
            runs=self.repeat, rs="" if self.repeat == 1 else "s",
            loops=self.loops, ls="" if self.loops == 1 else "s")

    def __repr__(self):
        return "<TimeitResult : %s>" % self

    def _repr_pretty_(self, p, cycle):
        p.text("<TimeitResult : %s>" % self)


def _timeit(line, cell=None):
    import timeit
    opts, stmt = parse_options(line, "n:r:tcp:qo")
    if cell is not None:
        setup, stmt = stmt or "pass", cell
    else:
        setup = "pass"
    if not stmt.strip():
        return None
    number = int(opts.get("n", 0))
    repeat = int(opts.get("r", max(7, timeit.default_repeat)))
    precision = int(opts.get("p", 3))
    t0 = time.perf_counter()
    timer = timeit.Timer(stmt, setup, timer=timeit.default_timer, globals=user_ns())
    compile_time = time.perf_counter() - t0
    if number == 0:  # IPython's autorange: the first power of 10 taking >= 0.2 s
        for index in range(10):
            number = 10 ** index
            if timer.timeit(number) >= 0.2:
                break
    all_runs = timer.repeat(repeat, number)
    best, worst = min(all_runs) / number, max(all_runs) / number
    result = TimeitResult(number, repeat, best, worst, all_runs, compile_time, precision)
    if "q" not in opts:
        if worst > 4 * best and best > 0 and worst > 1e-5:
            print("The slowest run took %0.2f times longer than the fastest. This could mean "
                  "that an intermediate result is being cached." % (worst / best))
        print(result)
        if compile_time > 0.1:
            print("Compiler time: %.2f s" % compile_time)
    sys.stdout.flush()
    return result if "o" in opts else None


def timeit_line(line):
    return _timeit(line)


def timeit_cell(line, cell):
    return _timeit(line, cell)
