"""Cell magics that show or store the cell: %%writefile, %%capture, %%html, %%javascript,
%%markdown, %%svg, %%latex."""

import sys

from . import parse_options, user_ns


def writefile(line, cell):
    opts, rest = parse_options(line, "a", ["append"])
    filename = rest.strip()
    if len(filename) > 1 and filename[0] == filename[-1] and filename[0] in "'\"":
        filename = filename[1:-1]
    if not filename:
        from ..shell import UsageError
        raise UsageError("the following arguments are required: filename")
    import os
    filename = os.path.expanduser(filename)
    append = "a" in opts or "append" in opts
    exists = os.path.exists(filename)
    if exists:
        print("Appending to %s" % filename if append else "Overwriting %s" % filename)
    else:
        print("Writing %s" % filename)
    with open(filename, "a" if append else "w", encoding="utf-8") as f:
        f.write(cell)


class CapturedIO:
    """What %%capture stores (IPython's CapturedIO): stdout, stderr, outputs; show() replays."""

    def __init__(self, stdout, stderr, outputs):
        self._stdout, self._stderr, self.outputs = stdout, stderr, outputs

    @property
    def stdout(self):
        return self._stdout.getvalue() if self._stdout is not None else ""

    @property
    def stderr(self):
        return self._stderr.getvalue() if self._stderr is not None else ""

    def show(self):
        from ..display import publish_display_data
        if self.stdout:
            sys.stdout.write(self.stdout)
        if self.stderr:
            sys.stderr.write(self.stderr)
        for content in self.outputs:
            publish_display_data(content.get("data", {}), content.get("metadata"))

    __call__ = show


def capture(line, cell):
    import io
    from .. import iopub, runner
    opts, rest = parse_options(line, "", ["no-stderr", "no-stdout", "no-display"])
    out = None if "no-stdout" in opts else io.StringIO()
    err = None if "no-stderr" in opts else io.StringIO()
    outputs = []
    saved = sys.stdout, sys.stderr
    if out is not None:
        sys.stdout = out
    if err is not None:
        sys.stderr = err
    iopub.display_captures.append(None if "no-display" in opts else outputs)
    captured = CapturedIO(out, err, outputs)
    name = rest.strip()
    try:
        runner.run_nested(cell, show_result=False)
    finally:
        iopub.display_captures.pop()
        sys.stdout, sys.stderr = saved
        if name:
            user_ns()[name] = captured


def _show(cls_name, cell):
    from .. import display
    display.display(getattr(display, cls_name)(cell))


def html(line, cell):
    _show("HTML", cell)


def javascript(line, cell):
    _show("Javascript", cell)


def markdown(line, cell):
    _show("Markdown", cell)


def svg(line, cell):
    _show("SVG", cell)


def latex(line, cell):
    _show("Latex", cell)
