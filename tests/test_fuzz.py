"""Message fuzzer (reliability, issue 14, item 3): every kite host answers every request, sends only
well-formed messages and keeps its state under mutated messages. Shared helpers:
tests/reliability.py.

Knobs (environment; `make soak` raises them): KITE_FUZZ_MESSAGES (default 2000): fuzzed messages
per host; KITE_FUZZ_SEED replays a run. Figures: report kind `reliability_fuzz`.

**Fuzz** (`test_message_fuzz`): mutated valid messages over raw pyzmq with the connection file's
key, see `mutate()`. Every message the kernel must answer (validly signed over its four frames,
header a JSON object with string `msg_id` and `msg_type` ending in `_request`) needs a reply within
10 s; everything the kernel sends (replies and iopub) must be a signed message whose header, parent
header and content are JSON objects; after every 100 messages kernel_info and `1 + 1` are answered
and a variable set at the start kept its value (over the raw sockets: the driver's jupyter_client
channels are stopped meanwhile, since the kernel echoes hostile headers, e.g. nested 100,000
deep, as parent_header, which Python's json cannot decode). Mostly one request at a time, 20 %
in bursts; after 5 unanswered requests the replies are awaited per batch of 100 (bounded time).

A kernel that crashes during the fuzz is restarted (up to MAX_CRASHES times, to find more) and the
messages sent just before each death are reported; the test fails on any crash.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest
import zmq

from kernels import Kernel, clock, report, start_kernel
from reliability import KITE_HOSTS, ONE_MB, pick_seed, spread_ms

FUZZ_MESSAGES = int(os.environ.get("KITE_FUZZ_MESSAGES", "2000"))

DELIM = b"<IDS|MSG>"


class Blob:
    """Raw JSON text spliced into a frame (deep nesting, which Python's json cannot write)."""

    def __init__(self, text: str, kind: Any) -> None:
        self.text, self.kind = text, kind

    def __repr__(self) -> str:
        return f"Blob({len(self.text)} chars)"


def encode(obj: Any) -> bytes:
    blobs: list[str] = []

    def walk(o: Any) -> Any:
        if isinstance(o, Blob):
            blobs.append(o.text)
            return f"\x00BLOB{len(blobs) - 1}\x00"
        if isinstance(o, dict):
            return {k: walk(v) for k, v in o.items()}
        if isinstance(o, list):
            return [walk(v) for v in o]
        return o

    text = json.dumps(walk(obj))
    for n, b in enumerate(blobs):
        text = text.replace(json.dumps(f"\x00BLOB{n}\x00"), b, 1)
    return text.encode()


INVALID = object()  # a frame that is not JSON


@dataclass
class Frame:
    data: bytes
    obj: Any = INVALID   # what the frame decodes to (INVALID if it does not)


def jframe(obj: Any) -> Frame:
    return Frame(encode(obj), obj)


def deep(depth: int, kind: str = "list") -> Blob:
    if kind == "list":
        return Blob("[" * depth + "]" * depth, "deep")
    return Blob('{"a":' * depth + "{}" + "}" * depth, "deep")


def wrong_value(rng: random.Random) -> Any:
    return rng.choice([
        None, 0, -1, 2**63, 1.5, 1e308, True, "", "x", [], [1, "a"], {}, {"k": [None]},
        "\udcff".encode("utf-8", "surrogatepass").decode("latin-1"), "a" * 1000,
        lambda: "a" * ONE_MB, lambda: deep(rng.choice([50, 1000, 10_000, 100_000]),
                                            rng.choice(["list", "dict"])),
    ])


def realize(v: Any) -> Any:
    return v() if callable(v) else v


SAFE_CODE = [
    "1 + 1", "fz_count = globals().get('fz_count', 0) + 1", "pass", "def broken(:", "1/0",
    "import time; time.sleep(0.05)", "print('fz')", "[i * i for i in range(1000)][-1]",
    "fz_user = {'a': [1, 2]}", "import sys; sys.stdout.write('w')", "raise ValueError('fz')",
    "'é' * 3", "", "fz_count", "import json",
]


def base_request(rng: random.Random, comm_ids: list[str]) -> tuple[str, str, dict]:
    """(channel, msg_type, content) of a well-formed message."""
    kind = rng.choice(["kernel_info", "execute", "execute", "execute", "complete", "inspect",
                       "is_complete", "history", "comm_info", "comm_open", "comm_msg",
                       "comm_close", "interrupt", "unknown", "control_info"])
    if kind == "kernel_info":
        return "shell", "kernel_info_request", {}
    if kind == "control_info":
        return "control", "kernel_info_request", {}
    if kind == "execute":
        return "shell", "execute_request", {
            "code": rng.choice(SAFE_CODE), "silent": rng.random() < 0.2,
            "store_history": rng.random() < 0.8,
            "user_expressions": rng.choice([{}, {"a": "1+1"}, {"b": "undefined_name"}]),
            "allow_stdin": False, "stop_on_error": rng.random() < 0.5}
    if kind == "complete":
        code = rng.choice(["import o", "fz_", "print(", "x.", ""])
        return "shell", "complete_request", {"code": code, "cursor_pos": len(code)}
    if kind == "inspect":
        return "shell", "inspect_request", {"code": "print", "cursor_pos": 5,
                                            "detail_level": rng.choice([0, 1])}
    if kind == "is_complete":
        return "shell", "is_complete_request", {"code": rng.choice(["for i in x:", "1+1", "(("])}
    if kind == "history":
        return "shell", "history_request", rng.choice([
            {"output": False, "raw": True, "hist_access_type": "tail", "n": 5},
            {"output": True, "raw": False, "hist_access_type": "range", "session": 0,
             "start": 0, "stop": 5},
            {"output": False, "raw": True, "hist_access_type": "search", "pattern": "fz*",
             "unique": True, "n": 3}])
    if kind == "comm_info":
        return "shell", "comm_info_request", rng.choice([{}, {"target_name": "kite.fuzz"}])
    if kind == "comm_open":
        cid = uuid.uuid4().hex
        comm_ids.append(cid)
        return "shell", "comm_open", {"comm_id": cid, "target_name": "kite.fuzz", "data": {}}
    if kind == "comm_msg":
        cid = rng.choice(comm_ids) if comm_ids else uuid.uuid4().hex
        return "shell", "comm_msg", {"comm_id": cid, "data": {"n": rng.randrange(100)}}
    if kind == "comm_close":
        cid = rng.choice(comm_ids) if comm_ids else uuid.uuid4().hex
        return "shell", "comm_close", {"comm_id": cid, "data": {}}
    if kind == "interrupt":
        return "control", "interrupt_request", {}
    name = rng.choice(["kite_fuzz_request", "kite_fuzz", "_request", "execute_reply", "status",
                       "x" * 300 + "_request", "comm_info", "debug_request", "history_reply",
                       "input_reply", "é_request"])
    return rng.choice(["shell", "control"]), name, {"anything": 1}


@dataclass
class FuzzMessage:
    channel: str
    pre: list[bytes]          # frames before the delimiter (routing identities)
    frames: list[Frame]       # [sig, header, parent, metadata, content, *buffers] (after DELIM)
    delim: bool = True
    mutations: list[str] = field(default_factory=list)
    header_obj: Any = None    # the header as built (before framing mutations)

    def wire(self, key: bytes) -> list[bytes]:
        out = list(self.pre)
        if self.delim:
            out.append(DELIM)
        out += [f.data for f in self.frames]
        return out


def sign(key: bytes, frames: list[bytes]) -> bytes:
    h = hmac.new(key, digestmod=hashlib.sha256)
    for f in frames:
        h.update(f)
    return h.hexdigest().encode()


def needs_reply(msg: FuzzMessage, key: bytes) -> str | None:
    """The msg_id the kernel must answer (the brief's rule), or None."""
    if not msg.delim or len(msg.frames) < 5:
        return None
    sig, rest = msg.frames[0], msg.frames[1:5]
    if not hmac.compare_digest(sig.data, sign(key, [f.data for f in rest])):
        return None
    h = rest[0].obj
    if not isinstance(h, dict):
        return None
    mid, mt = h.get("msg_id"), h.get("msg_type")
    if not (isinstance(mid, str) and mid and isinstance(mt, str) and mt.endswith("_request")):
        return None
    return mid


def mutate(rng: random.Random, msg: FuzzMessage, header: dict, parent: Any, metadata: Any,
           content: Any, key: bytes, recent_ids: list[str]) -> None:
    """Apply 1-3 mutations to msg; fills msg.frames and the signature."""
    muts: list[str] = []
    n = rng.choice([0, 1, 1, 1, 2, 2, 3]) if rng.random() > 0.15 else 0
    sig_mode = "ok"
    frame_op: str | None = None
    objs: dict[str, Any] = {"header": header, "parent": parent, "metadata": metadata,
                            "content": content}
    raw: dict[str, bytes] = {}
    extra_buffers: list[bytes] = []
    for _ in range(n):
        m = rng.choice(["signature", "frames", "part_type", "invalid_json", "content_field",
                        "content_field", "content_field", "drop_field", "extra_field", "huge",
                        "deep", "dup_id", "header_field", "buffers"])
        muts.append(m)
        if m == "signature":
            sig_mode = rng.choice(["wrong_key", "missing", "garbage", "upper", "empty"])
            muts[-1] += ":" + sig_mode
        elif m == "frames":
            frame_op = rng.choice(["drop", "dup", "extra_before", "no_delim", "dup_delim",
                                   "sign_then_drop"])
            muts[-1] += ":" + frame_op
        elif m == "part_type":
            part = rng.choice(["header", "parent", "metadata", "content"])
            objs[part] = rng.choice([[], [1, 2], 5, "s", None, True, 1.5])
            muts[-1] += ":" + part
        elif m == "invalid_json":
            part = rng.choice(["header", "parent", "metadata", "content"])
            raw[part] = rng.choice([b"{", b"", b"nan", b"[1,2", b"\xff\xfe{}", b"{'a': 1}",
                                    b'{"a": 1} trailing', b"{\"a\": \"\\ud800\"", b"\x00"])
            muts[-1] += ":" + part
        elif m == "content_field" and isinstance(objs["content"], dict) and objs["content"]:
            f = rng.choice(list(objs["content"]))
            objs["content"] = dict(objs["content"], **{f: realize(wrong_value(rng))})
            muts[-1] += ":" + f
        elif m == "drop_field" and isinstance(objs["content"], dict) and objs["content"]:
            f = rng.choice(list(objs["content"]))
            objs["content"] = {k: v for k, v in objs["content"].items() if k != f}
            muts[-1] += ":" + f
        elif m == "extra_field":
            part = rng.choice(["header", "parent", "metadata", "content"])
            if isinstance(objs[part], dict):
                objs[part] = dict(objs[part], kite_fuzz_extra=realize(wrong_value(rng)))
            muts[-1] += ":" + part
        elif m == "huge":
            part = rng.choice(["content", "content", "metadata", "parent", "header"])
            if isinstance(objs[part], dict):
                if part == "content" and objs[part] and rng.random() < 0.6:
                    f = rng.choice(list(objs[part]))
                    objs[part] = dict(objs[part], **{f: "a" * ONE_MB})
                else:
                    objs[part] = dict(objs[part], kite_fuzz_huge="b" * ONE_MB)
            muts[-1] += ":" + part
        elif m == "deep":
            part = rng.choice(["content", "metadata", "parent", "header"])
            d = deep(rng.choice([100, 1000, 10_000, 100_000]), rng.choice(["list", "dict"]))
            if isinstance(objs[part], dict):
                objs[part] = dict(objs[part], kite_fuzz_deep=d)
            muts[-1] += ":" + part
        elif m == "dup_id" and recent_ids and isinstance(objs["header"], dict):
            objs["header"] = dict(objs["header"], msg_id=rng.choice(recent_ids))
        elif m == "header_field" and isinstance(objs["header"], dict):
            f = rng.choice(["msg_id", "msg_type", "session", "username", "date", "version"])
            how = rng.choice(["drop", "wrong"])
            h = dict(objs["header"])
            if how == "drop":
                h.pop(f, None)
            else:
                h[f] = rng.choice([None, 5, [], {}, "", "not a date" if f == "date" else "é"])
            objs["header"] = h
            muts[-1] += f":{f}:{how}"
        elif m == "buffers":
            extra_buffers = [os.urandom(rng.choice([0, 1, 100, 70_000]))
                             for _ in range(rng.choice([1, 2, 5]))]
    frames = [Frame(raw[p]) if p in raw else jframe(objs[p])
              for p in ("header", "parent", "metadata", "content")]
    frames += [Frame(b) for b in extra_buffers]
    datas = [f.data for f in frames[:4]]
    if sig_mode == "ok":
        sig = sign(key, datas)
    elif sig_mode == "wrong_key":
        sig = sign(b"not-the-key", datas)
    elif sig_mode == "missing":
        sig = None
    elif sig_mode == "garbage":
        sig = os.urandom(32).hex().encode()
    elif sig_mode == "upper":
        sig = sign(key, datas).upper()
    else:
        sig = b""
    body = ([] if sig is None else [Frame(sig)]) + frames
    if frame_op == "drop":
        del body[rng.randrange(len(body))]
    elif frame_op == "sign_then_drop":
        # drop a part, then sign what is left (a validly signed message missing a frame)
        del frames[rng.randrange(4)]
        body = [Frame(sign(key, [f.data for f in frames[:4]]))] + frames
    elif frame_op == "dup":
        j = rng.randrange(len(body))
        body.insert(j, body[j])
        if rng.random() < 0.5:  # re-sign what the kernel will read as the four parts
            body[0] = Frame(sign(key, [f.data for f in body[1:5]]))
    elif frame_op == "extra_before":
        msg.pre = [b"kite-fuzz-extra-identity"]
    elif frame_op == "no_delim":
        msg.delim = False
    elif frame_op == "dup_delim":
        body.insert(0, Frame(DELIM))
    msg.frames = body
    msg.mutations = muts
    msg.header_obj = objs["header"]


class Wire:
    """Raw sockets on the kernel's shell, control and iopub ports, with the session's key."""

    def __init__(self, k: Kernel) -> None:
        info = k.km.get_connection_info()
        key = info["key"]
        self.key = key if isinstance(key, bytes) else key.encode()
        self.ctx = zmq.Context.instance()
        self.session = uuid.uuid4().hex
        url = f"{info['transport']}://{info['ip']}:"
        self.socks: dict[str, zmq.Socket] = {}
        for ch in ("shell", "control"):
            s = self.ctx.socket(zmq.DEALER)
            s.linger = 0
            s.sndtimeo = 10_000  # a dead kernel must not block a send for ever
            s.setsockopt(zmq.IDENTITY, f"kite-fuzz-{ch}-{uuid.uuid4().hex[:8]}".encode())
            s.connect(url + str(info[f"{ch}_port"]))
            self.socks[ch] = s
        sub = self.ctx.socket(zmq.SUB)
        sub.linger = 0
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(url + str(info["iopub_port"]))
        self.socks["iopub"] = sub
        self.poller = zmq.Poller()
        for s in self.socks.values():
            self.poller.register(s, zmq.POLLIN)

    def close(self) -> None:
        for s in self.socks.values():
            s.close(linger=0)

    def header(self, msg_type: str) -> dict:
        return {"msg_id": uuid.uuid4().hex, "session": self.session, "username": "kite-fuzz",
                "date": datetime.now(timezone.utc).isoformat(), "msg_type": msg_type,
                "version": "5.3"}

    def recv(self, timeout: float) -> list[tuple[str, list[bytes]]]:
        out = []
        for s, _ in self.poller.poll(int(timeout * 1000)):
            ch = next(c for c, x in self.socks.items() if x is s)
            while True:
                try:
                    out.append((ch, s.recv_multipart(zmq.NOBLOCK)))
                except zmq.Again:
                    break
        return out


MSG_ID_RE = re.compile(rb'"msg_id"\s*:\s*"([^"]*)"')


def _loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except RecursionError:
        return Ellipsis  # nested deeper than Python's json reads: checked by its first byte
    except ValueError:
        return INVALID


def check_outgoing(ch: str, frames: list[bytes], key: bytes) -> tuple[str | None, str | None]:
    """(parent msg_id, problem) of a message the kernel sent."""
    try:
        i = frames.index(DELIM)
    except ValueError:
        return None, "no delimiter"
    sig, rest = frames[i + 1], frames[i + 2:]
    if len(rest) < 4:
        return None, f"{len(rest)} frames after the signature"
    problem = None
    if not hmac.compare_digest(sig, sign(key, rest[:4])):
        problem = "bad signature"
    parts = [_loads(f) for f in rest[:4]]
    for name, data, obj in zip(("header", "parent_header", "metadata", "content"), rest, parts):
        if obj is Ellipsis:
            if not data.lstrip().startswith(b"{"):
                problem = f"{name} is not an object"
        elif not isinstance(obj, dict):
            problem = f"{name} is not a JSON object: {data[:80]!r}"
    parent = parts[1]
    pid = None
    if isinstance(parent, dict):
        pid = parent.get("msg_id")
    elif parent is Ellipsis:
        m = MSG_ID_RE.search(rest[1])
        pid = m.group(1).decode() if m else None
    return (pid if isinstance(pid, str) else None), problem


@dataclass
class FuzzStats:
    sent: int = 0
    needing_reply: int = 0
    answered: int = 0
    unanswered: list = field(default_factory=list)
    late: list = field(default_factory=list)
    malformed_out: list = field(default_factory=list)
    health_checks: int = 0
    health_failures: list = field(default_factory=list)
    crashes: list = field(default_factory=list)  # the messages sent just before each death
    replies_seen: int = 0
    iopub_seen: int = 0
    reply_times: list = field(default_factory=list)
    mutations: dict[str, int] = field(default_factory=dict)

    def unanswered_by_kind(self) -> dict[str, int]:
        """Unanswered requests per mutation kind (a request can carry several)."""
        out: dict[str, int] = {}
        for _, desc in self.unanswered:
            if "kernel died" in desc:
                out["(kernel died)"] = out.get("(kernel died)", 0) + 1
                continue
            kinds = set(re.findall(r"'([a-z_]+)(?::[^']*)?'", desc[0].split("[", 1)[1]))
            for kind in kinds or {"(none)"}:
                out[kind] = out.get(kind, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def summary(self) -> dict:
        return {"sent": self.sent, "needing_reply": self.needing_reply,
                "unanswered_by_kind": self.unanswered_by_kind(),
                "answered": self.answered, "unanswered": len(self.unanswered),
                "late": len(self.late), "malformed_out": len(self.malformed_out),
                "health_checks": self.health_checks,
                "health_failures": len(self.health_failures), "crashes": len(self.crashes),
                "replies_seen": self.replies_seen, "iopub_seen": self.iopub_seen,
                "reply_ms": spread_ms(self.reply_times)}


FUZZ_REPLY_TIMEOUT = 10.0
HEALTH_EVERY = 100
MAX_CRASHES = 10  # restart a crashed kernel this often (to find more), then stop
# after this many unanswered requests, stop waiting for each reply on its own (a failing kernel
# would cost 10 s per message): replies are then awaited once per batch of HEALTH_EVERY
BATCH_AFTER_UNANSWERED = 5


def describe_message(msg: FuzzMessage) -> str:
    h = msg.header_obj
    t = h.get("msg_type") if isinstance(h, dict) else type(h).__name__
    sizes = [len(f.data) for f in msg.frames]
    return f"{msg.channel} {t!r:.60} {msg.mutations} frame sizes {sizes}"


class FuzzRun:
    """One fuzz run against a started kernel (the driver's channels are stopped meanwhile: the
    kernel echoes hostile headers as parent_header, which jupyter_client may not decode; every
    check goes over the raw sockets)."""

    def __init__(self, k: Kernel, seed: int) -> None:
        self.k, self.seed = k, seed
        self.rng = random.Random(seed)
        self.stats = FuzzStats()
        # msg_id -> [needed replies, replies got, sent time, deadline, description]
        self.pending: dict[str, list] = {}
        self.probes: dict[str, list] = {}   # health-check msg_id -> replies
        self.recent_ids: list[str] = []
        self.comm_ids: list[str] = []
        self.last_sent: list[str] = []
        self.wire: Wire | None = None

    # -- sockets --------------------------------------------------------------------------------
    def connect(self) -> None:
        self.k.kc.stop_channels()
        self.wire = Wire(self.k)
        time.sleep(0.3)  # let the SUB socket subscribe
        self.set_state()

    def close(self) -> None:
        if self.wire is not None:
            self.wire.close()
            self.wire = None

    def send_valid(self, channel: str, msg_type: str, content: dict) -> str:
        h = self.wire.header(msg_type)
        frames = [encode(h), b"{}", b"{}", encode(content)]
        self.probes[h["msg_id"]] = []
        try:
            self.wire.socks[channel].send_multipart([DELIM, sign(self.wire.key, frames), *frames])
        except zmq.Again:
            pass  # no reply will come: the caller sees None
        return h["msg_id"]

    def probe(self, channel: str, msg_type: str, content: dict, timeout: float = 10) -> Any:
        mid = self.send_valid(channel, msg_type, content)
        deadline = clock() + timeout
        while not self.probes[mid] and clock() < deadline:
            self.pump(0.05)
        got = self.probes.pop(mid)
        return got[0] if got else None

    def set_state(self) -> None:
        rep = self.probe("shell", "execute_request", {
            "code": f"fuzz_state = 'kept-{self.seed}'", "silent": False, "store_history": True,
            "user_expressions": {}, "allow_stdin": False, "stop_on_error": False}, 30)
        assert isinstance(rep, dict) and rep.get("status") == "ok", \
            f"[{self.k.name}] could not set the fuzz state: {rep!r:.300}"

    def pump(self, timeout: float) -> None:
        st = self.stats
        for ch, frames in self.wire.recv(timeout):
            pid, problem = check_outgoing(ch, frames, self.wire.key)
            if ch == "iopub":
                st.iopub_seen += 1
            else:
                st.replies_seen += 1
            if problem:
                st.malformed_out.append((ch, problem, [f[:120] for f in frames[:6]])
                                        if len(st.malformed_out) < 20 else None)
            if ch == "iopub":
                continue
            if pid in self.probes:
                try:
                    i = frames.index(DELIM)
                    self.probes[pid].append(json.loads(frames[i + 5]))
                except (ValueError, RecursionError):
                    self.probes[pid].append(None)
            elif pid in self.pending:
                p = self.pending[pid]
                p[1] += 1
                if p[1] <= p[0]:
                    now = clock()
                    st.reply_times.append(now - p[2])
                    if now > p[3]:
                        st.late.append((pid, p[4]))
                if p[1] >= p[0]:
                    st.answered += p[0]
                    del self.pending[pid]

    def settle(self, only: str | None = None) -> bool:
        """Pump until `only` (or everything) is answered or past its deadline; False if the
        kernel died meanwhile."""
        while True:
            ids = [only] if only else list(self.pending)
            waiting = [self.pending[i] for i in ids if i in self.pending]
            if not waiting:
                return True
            if not self.k.km.is_alive():
                return False
            latest = max(p[3] for p in waiting)
            now = clock()
            if now >= latest:
                for i in ids:
                    if i in self.pending:
                        self.stats.unanswered.append((i, self.pending.pop(i)[4]))
                return True
            self.pump(min(0.05, latest - now))

    def health(self, at: int) -> None:
        st = self.stats
        st.health_checks += 1
        fails = st.health_failures
        rep = self.probe("shell", "kernel_info_request", {})
        if not (isinstance(rep, dict) and rep.get("status") == "ok"
                and isinstance(rep.get("language_info"), dict)):
            fails.append((at, f"kernel_info: {rep!r:.200}"))
        rep = self.probe("control", "kernel_info_request", {})
        if not (isinstance(rep, dict) and rep.get("status") == "ok"):
            fails.append((at, f"kernel_info on control: {rep!r:.200}"))
        rep = self.probe("shell", "execute_request", {
            "code": "fuzz_two = 1 + 1", "silent": False, "store_history": True,
            "user_expressions": {"two": "fuzz_two", "state": "fuzz_state"},
            "allow_stdin": False, "stop_on_error": False})
        ue = rep.get("user_expressions") if isinstance(rep, dict) else None
        try:
            two = ue["two"]["data"]["text/plain"]
            state = ue["state"]["data"]["text/plain"]
        except (TypeError, KeyError):
            fails.append((at, f"1 + 1 / state: {rep!r:.300}"))
            return
        if two != "2":
            fails.append((at, f"1 + 1 gave {two!r}"))
        if state != repr(f"kept-{self.seed}"):
            fails.append((at, f"state lost: fuzz_state = {state!r:.100}"))

    def crashed(self, at: int) -> bool:
        if self.k.km.is_alive():
            return False
        self.stats.crashes.append((at, list(self.last_sent)))
        for i, p in list(self.pending.items()):
            self.stats.unanswered.append((i, p[4] + ("kernel died",)))
        self.pending.clear()
        self.close()
        if len(self.stats.crashes) < MAX_CRASHES:
            # (restart makes a fresh client: starting one here to stop it at once raced with its
            # heartbeat thread, which then failed on the destroyed context, "Too many open files")
            self.k.restart()
            self.connect()
        return True

    # -- the run --------------------------------------------------------------------------------
    def run(self, count: int) -> FuzzStats:
        rng, st = self.rng, self.stats
        self.connect()
        try:
            for i in range(count):
                channel, msg_type, content = base_request(rng, self.comm_ids)
                msg = FuzzMessage(channel, [], [])
                mutate(rng, msg, self.wire.header(msg_type), {}, {}, content, self.wire.key,
                       self.recent_ids)
                h = msg.header_obj
                if isinstance(h, dict) and h.get("msg_type") == "shutdown_request":
                    continue  # never ask it to leave
                for m in msg.mutations:
                    st.mutations[m.split(":")[0]] = st.mutations.get(m.split(":")[0], 0) + 1
                mid = needs_reply(msg, self.wire.key)
                try:
                    self.wire.socks[channel].send_multipart(msg.wire(self.wire.key))
                except zmq.Again:
                    if self.crashed(i + 1):
                        if len(st.crashes) >= MAX_CRASHES:
                            break
                        continue
                    raise AssertionError(f"[{self.k.name}] the kernel accepts no message for "
                                         f"10 s (alive, not reading {channel})")
                st.sent += 1
                self.last_sent = (self.last_sent + [describe_message(msg)])[-10:]
                now = clock()
                if isinstance(h, dict) and isinstance(h.get("msg_id"), str):
                    self.recent_ids = (self.recent_ids + [h["msg_id"]])[-20:]
                if mid is not None:
                    st.needing_reply += 1
                    desc = (describe_message(msg),)
                    if mid in self.pending:
                        self.pending[mid][0] += 1
                        self.pending[mid][3] = now + FUZZ_REPLY_TIMEOUT
                    else:
                        self.pending[mid] = [1, 0, now, now + FUZZ_REPLY_TIMEOUT, desc]
                    # mostly one at a time (each measured on its own), sometimes a burst
                    one_by_one = rng.random() < 0.8 and len(st.unanswered) < BATCH_AFTER_UNANSWERED
                    if one_by_one and not self.settle(mid) and self.crashed(i + 1):
                        if len(st.crashes) >= MAX_CRASHES:
                            break
                        continue
                self.pump(0)
                if (i + 1) % HEALTH_EVERY == 0 or i + 1 == count:
                    self.settle()
                    if self.crashed(i + 1):
                        if len(st.crashes) >= MAX_CRASHES:
                            break
                        continue
                    self.health(i + 1)
                    if len(st.health_failures) >= 10:
                        break
            if self.wire is not None:
                self.settle()
                self.pump(0.5)
        finally:
            self.close()  # the client stays stopped: the caller shuts the kernel down
        if not self.k.km.is_alive() and (not st.crashes or st.crashes[-1][0] != st.sent):
            st.crashes.append((st.sent, list(self.last_sent)))
        return st


@pytest.mark.parametrize("name", KITE_HOSTS)
def test_message_fuzz(name: str) -> None:
    seed = pick_seed("KITE_FUZZ_SEED")
    print(f"[fuzz] kernel={name} seed={seed} messages={FUZZ_MESSAGES} (rerun: KITE_FUZZ_SEED={seed})")
    k = start_kernel(name)
    t0 = clock()
    try:
        stats = FuzzRun(k, seed).run(FUZZ_MESSAGES)
    finally:
        k.shutdown(now=not k.km.is_alive())
    summary = stats.summary()
    malformed = [m for m in stats.malformed_out if m][:10]
    report("reliability_fuzz", kernel=name, seed=seed, seconds=round(clock() - t0, 1),
           **summary, mutations=stats.mutations, unanswered_examples=stats.unanswered[:15],
           late_examples=stats.late[:10], malformed_examples=[repr(m)[:400] for m in malformed],
           health_failure_examples=stats.health_failures[:10], crash_examples=stats.crashes[:5])
    detail = (f"[{name}] seed={seed}: {summary}\n crashes (messages sent just before)="
              f"{stats.crashes[:3]}\n unanswered={stats.unanswered[:10]}\n "
              f"late={stats.late[:5]}\n malformed out={malformed[:5]}\n "
              f"health={stats.health_failures[:5]}")
    assert not stats.crashes, detail
    assert stats.sent >= FUZZ_MESSAGES * 0.99, detail
    assert not stats.unanswered and not stats.late, detail
    assert not stats.malformed_out, detail
    assert not stats.health_failures, detail
