"""The single path of every iopub message: batches stream text and keeps all output in order.

Stream text ending a line is published at once if nothing was flushed for FLUSH_INTERVAL (so a
print before a long loop shows immediately), otherwise buffered until the interval passes, the buffer exceeds
MAX_BUFFER, another message goes out, a blocking call starts (sleep, input) or the cell ends.
"""

import _thread
import io
import time

import _kite

FLUSH_INTERVAL = 0.05
MAX_BUFFER = 64 * 1024

_pending = []  # [name, [chunks]] in write order; stdout and stderr share it to keep order
_pending_size = 0
_last_flush = float("-inf")
# a timed flush is scheduled for the pending text (the host's timer: natively a thread,
# native/flush_timer.cpp; in wasm a deadline the signal-buffer accessor checks)
_flush_armed = False
_main_thread = _thread.get_ident()  # the host's servers are called from this thread only


def new_request():
    """A cell starts: its first line goes out at once, however recently the last one did (a
    cell that prints, then loops without printing, must show that line while it runs)."""
    global _last_flush
    _last_flush = float("-inf")


def flush():
    """Publish buffered stream text now (from the main thread; elsewhere a no-op)."""
    global _pending, _pending_size, _last_flush, _flush_armed
    if not _pending or _thread.get_ident() != _main_thread:
        return
    _flush_armed = False
    # Swap first: a re-entrant flush (or an interrupt half-way) must not send text twice.
    pending, _pending, _pending_size = _pending, [], 0
    _last_flush = time.monotonic()
    for name, chunks in pending:
        _kite.publish("stream", {"name": name, "text": "".join(chunks)})


# %%capture: a stack of lists that take display_data contents instead of the frontend.
display_captures = []


def publish(msg_type, content, metadata=None, buffers=None):
    """Send a non-stream iopub message after the stream text written before it."""
    if display_captures and msg_type == "display_data" and display_captures[-1] is not None:
        display_captures[-1].append(content)
        return
    flush()
    _kite.publish(msg_type, content, metadata, buffers)


def write_stream(name, text):
    global _pending_size, _flush_armed
    if _pending and _pending[-1][0] == name:
        _pending[-1][1].append(text)
    else:
        _pending.append([name, [text]])
    _pending_size += len(text)
    if _thread.get_ident() != _main_thread:
        return  # other threads only buffer; the main thread publishes their text with its own
    # The leading-edge flush waits for a line end: print() writes the text and "\n" separately.
    if _pending_size > MAX_BUFFER or (
            text.endswith("\n") and time.monotonic() - _last_flush >= FLUSH_INTERVAL):
        flush()
    elif not _flush_armed:
        # batched: the host flushes it after the interval even if no more text or blocking
        # call comes (print, print, then a long computation)
        _flush_armed = True
        _kite.flush_later(FLUSH_INTERVAL)


class OutStream(io.TextIOBase):
    """sys.stdout / sys.stderr: text goes to the frontend as `stream` messages."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, name):
        super().__init__()
        self._name = name

    @property
    def name(self):
        return "<%s>" % self._name

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        raise io.UnsupportedOperation("fileno: kite's %s is not a file" % self._name)

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        if s:
            write_stream(self._name, s)
        return len(s)

    def flush(self):
        flush()
