"""The display API of notebooks (IPython.display compatible): display(), update_display(),
clear_output() and the rich display classes HTML, Markdown, SVG, JSON, Latex, Javascript, Image.
"""

from . import formatters, iopub

__all__ = [
    "display", "update_display", "clear_output", "publish_display_data", "DisplayHandle",
    "DisplayObject", "HTML", "Markdown", "SVG", "JSON", "Latex", "Javascript", "Image", "Pretty",
]


def _new_id():
    import uuid  # here, not at import: uuid imports platform, ...
    return uuid.uuid4().hex


def publish_display_data(data, metadata=None, transient=None, update=False, **kwargs):
    """Send a ready MIME bundle."""
    iopub.publish("update_display_data" if update else "display_data", {
        "data": dict(data),
        "metadata": dict(metadata or {}),
        "transient": dict(transient or {}),
    })


def display(*objs, include=None, exclude=None, metadata=None, transient=None, display_id=None,
            raw=False, clear=False, update=False, **kwargs):
    """Show objects in the frontend; returns a DisplayHandle if display_id is given (True: new id)."""
    if display_id is True:
        display_id = _new_id()
    if update and display_id is None:
        raise TypeError("display_id required for update_display")
    if clear:
        clear_output(wait=True)
    for obj in objs:
        if raw:
            data, md = dict(obj), {}
        else:
            data, md = formatters.format(obj, include=include, exclude=exclude)
        if metadata:
            md = {**md, **metadata}
        tr = dict(transient or {})
        if display_id is not None:
            tr["display_id"] = display_id
        publish_display_data(data, md, tr, update=update)
    if display_id is not None and not update:
        return DisplayHandle(display_id)
    return None


def update_display(obj, *, display_id, **kwargs):
    """Replace what display(..., display_id=display_id) showed."""
    kwargs["update"] = True
    display(obj, display_id=display_id, **kwargs)


def clear_output(wait=False):
    """Clear the cell's output (wait=True: when the next output arrives)."""
    iopub.publish("clear_output", {"wait": bool(wait)})


class DisplayHandle:
    """A display that can be shown and updated in place."""

    def __init__(self, display_id=None):
        self.display_id = display_id or _new_id()

    def __repr__(self):
        return "<%s display_id=%s>" % (type(self).__name__, self.display_id)

    def display(self, obj, **kwargs):
        display(obj, display_id=self.display_id, **kwargs)

    def update(self, obj, **kwargs):
        update_display(obj, display_id=self.display_id, **kwargs)


class DisplayObject:
    """Data of one MIME type, given directly or read from `filename`."""

    _binary = False

    def __init__(self, data=None, url=None, filename=None, metadata=None):
        if isinstance(data, str) and filename is None and url is None and self._looks_like_path(data):
            filename, data = data, None
        if filename is not None and data is None:
            with open(filename, "rb" if self._binary else "r") as f:
                data = f.read()
        self.data = data
        self.url = url
        self.filename = filename
        self.metadata = metadata

    @staticmethod
    def _looks_like_path(data):
        return False

    def _data_and_metadata(self):
        return (self.data, self.metadata) if self.metadata else self.data


class TextDisplayObject(DisplayObject):
    def __init__(self, data=None, url=None, filename=None, metadata=None):
        if isinstance(data, (bytes, bytearray)):
            data = bytes(data).decode("utf-8", "replace")
        super().__init__(data, url, filename, metadata)


class HTML(TextDisplayObject):
    def _repr_html_(self):
        return self._data_and_metadata()


class Markdown(TextDisplayObject):
    def _repr_markdown_(self):
        return self._data_and_metadata()


class Latex(TextDisplayObject):
    def _repr_latex_(self):
        return self._data_and_metadata()


class SVG(TextDisplayObject):
    def _repr_svg_(self):
        return self._data_and_metadata()


class Javascript(TextDisplayObject):
    def _repr_javascript_(self):
        return self._data_and_metadata()


class Pretty(TextDisplayObject):
    def _repr_pretty_(self, p, cycle):
        p.text(self.data)

    def __repr__(self):
        return str(self.data)


class JSON(DisplayObject):
    """JSON data (a dict or list, or a str holding JSON), shown as a tree by JupyterLab."""

    def __init__(self, data=None, url=None, filename=None, expanded=False, metadata=None,
                 root="root", **kwargs):
        super().__init__(data, url, filename, metadata)
        if isinstance(self.data, (str, bytes)):
            import json
            self.data = json.loads(self.data)
        self.expanded = expanded
        self.root = root

    def _repr_json_(self):
        md = {"expanded": self.expanded, "root": self.root}
        if self.metadata:
            md.update(self.metadata)
        return self.data, md


class Image(DisplayObject):
    """A PNG or JPEG image from bytes or a file (embedded), or a URL (linked)."""

    _binary = True
    _MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8", "jpeg"))

    def __init__(self, data=None, url=None, filename=None, format=None, embed=None, width=None,
                 height=None, metadata=None, alt=None, **kwargs):
        if isinstance(data, str) and url is None and filename is None:
            if data.startswith(("http://", "https://", "data:")):
                url, data = data, None
            else:
                filename, data = data, None
        if embed is None:
            embed = url is None
        if format is None:
            name = (filename or url or "").lower()
            if name.endswith(".png"):
                format = "png"
            elif name.endswith((".jpg", ".jpeg")):
                format = "jpeg"
        super().__init__(data, url if not embed else None, filename if embed else None, metadata)
        self.url = url
        if format is None and isinstance(self.data, (bytes, bytearray)):
            for magic, fmt in self._MAGIC:
                if bytes(self.data[:len(magic)]) == magic:
                    format = fmt
        self.format = "jpeg" if format == "jpg" else format
        self.embed = embed
        self.width, self.height, self.alt = width, height, alt

    def _md(self):
        md = dict(self.metadata or {})
        for key in ("width", "height", "alt"):
            if getattr(self, key) is not None:
                md[key] = getattr(self, key)
        return md

    def _image(self, fmt):
        if not self.embed or self.format != fmt or self.data is None:
            return None
        md = self._md()
        return (self.data, md) if md else self.data

    def _repr_png_(self):
        return self._image("png")

    def _repr_jpeg_(self):
        return self._image("jpeg")

    def _repr_html_(self):
        if self.embed or not self.url:
            return None
        attrs = "".join(' %s="%s"' % (k, v) for k, v in self._md().items())
        return '<img src="%s"%s/>' % (self.url, attrs)


def _replace_lazy_builtin():
    import builtins
    if getattr(getattr(builtins, "display", None), "_kite_lazy", False):
        builtins.display = display  # kite.kernel's stand-in, until this module was imported


_replace_lazy_builtin()
