"""IPython.core.magic's API for extensions (`%load_ext` modules) and notebooks:
register_line_magic / register_cell_magic / register_line_cell_magic, and Magics classes with
@magics_class, @line_magic, @cell_magic, @line_cell_magic. Served as `IPython.core.magic` by
kite's IPython stand-in (kite/ipython_shim.py)."""

__all__ = ["Magics", "magics_class", "line_magic", "cell_magic", "line_cell_magic",
           "register_line_magic", "register_cell_magic", "register_line_cell_magic",
           "needs_local_scope", "no_var_expand", "output_can_be_silenced"]


def _marker(kind):
    def decorator(arg):
        if callable(arg):
            arg._kite_magic = (kind, arg.__name__)
            return arg

        def named(func):
            func._kite_magic = (kind, arg)
            return func
        return named
    return decorator


line_magic = _marker("line")
cell_magic = _marker("cell")
line_cell_magic = _marker("line_cell")


def magics_class(cls):
    return cls


class Magics:
    """Base of IPython-style magic classes: methods marked with @line_magic etc."""

    def __init__(self, shell=None, **kwargs):
        self.shell = shell


def magics_of(obj, shell):
    """(kind, name, bound function) for the marked methods of a Magics class or instance."""
    if isinstance(obj, type):
        obj = obj(shell=shell)
    for attr in dir(type(obj)):
        func = getattr(type(obj), attr, None)
        mark = getattr(func, "_kite_magic", None)
        if mark is None:
            continue
        kind, name = mark
        bound = getattr(obj, attr)
        if kind == "line_cell":
            yield "line", name, bound
            yield "cell", name, bound
        else:
            yield kind, name, bound


def _register(kind):
    def decorator(arg):
        from ..shell import get_ipython
        if callable(arg):
            get_ipython().register_magic_function(arg, kind)
            return arg

        def named(func):
            get_ipython().register_magic_function(func, kind, arg)
            return func
        return named
    return decorator


register_line_magic = _register("line")
register_cell_magic = _register("cell")
register_line_cell_magic = _register("line_cell")


def needs_local_scope(func):
    return func


def no_var_expand(func):
    return func


def output_can_be_silenced(func):
    return func
