"""Checks `percore serve --app chat` over both of its transports: the line protocol over TCP
(asyncio streams) and WebSocket at /ws (the `websockets` library, asyncio API: Debian 12 has
10.4). test/clients_chat.sh starts the servers and runs one group of checks per server:

  core      the protocol's replies and errors on both transports, TCP and WebSocket members in
            one room, fan-out (every member gets each message once, in each publisher's order,
            nobody outside the room gets any), kicks, the line limit (server: --chat-duplicate
            kick, --accept-mode round_robin so consecutive connections alternate reactors)
  refuse    a duplicate NICK refused, the nick free again once its holder closes
            (server: --chat-duplicate refuse)
  login     the login deadline on both transports (server: --chat-login-timeout 1s)
  heartbeat a silent line client is pinged then closed, one that answers stays, a WebSocket
            client (which answers pings itself) stays (server: --heartbeat-interval 500ms)

Usage: python3 test/chat_client.py PORT GROUP
Prints "ok   NAME" / "FAIL NAME: why" per check, then "chat_client: done" if it ran to the end.
"""
import asyncio
import sys
import time
import traceback

import websockets

PORT = int(sys.argv[1])
GROUP = sys.argv[2]
URI = f"ws://127.0.0.1:{PORT}/ws"
MAX_LINE = 4096  # the chat app's longest command


def report(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok or not detail else ': ' + detail}",
          flush=True)


async def check(name, coro, timeout=30):
    try:
        result = await asyncio.wait_for(coro, timeout)
        report(name, result is True, "" if result is True else repr(result)[:300])
    except Exception as e:  # a check that raises failed; say why
        report(name, False, f"{type(e).__name__}: {e}"[:300])


class Tcp:
    """A line-protocol client."""

    kind = "tcp"

    @classmethod
    async def open(cls):
        c = cls()
        c.r, c.w = await asyncio.open_connection("127.0.0.1", PORT, limit=1 << 20)
        return c

    async def send(self, line):
        self.w.write(line.encode() + b"\n")
        await self.w.drain()

    async def send_raw(self, data):
        self.w.write(data)
        await self.w.drain()

    async def recv(self, timeout=5):
        line = await asyncio.wait_for(self.r.readline(), timeout)
        if not line:
            raise EOFError("the server closed the connection")
        if not line.endswith(b"\n"):
            raise EOFError(f"the server closed in the middle of a line: {line!r}")
        return line[:-1].decode()

    async def closed(self, timeout=5):
        """True if the server closes the connection (EOF) within timeout, having sent nothing
        more; else what it sent."""
        try:
            rest = await asyncio.wait_for(self.r.read(), timeout)
        except ConnectionResetError:
            return "reset"
        return rest == b"" or rest

    async def close(self):
        self.w.close()
        try:
            await self.w.wait_closed()
        except OSError:
            pass


class Ws:
    """A WebSocket client at /ws: one command per text message."""

    kind = "ws"

    @classmethod
    async def open(cls):
        c = cls()
        c.ws = await websockets.connect(URI, max_size=None)
        return c

    async def send(self, line):
        await self.ws.send(line)

    async def recv(self, timeout=5):
        try:
            got = await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed as e:
            raise EOFError(f"the server closed the connection ({e.code})") from e
        if not isinstance(got, str):
            raise ValueError(f"a binary message: {got!r}")
        return got

    async def closed(self, timeout=5):
        """True if the server closes (close code 1000) within timeout, having sent nothing more."""
        try:
            got = await asyncio.wait_for(self.ws.recv(), timeout)
            return got
        except websockets.ConnectionClosed:
            return self.ws.close_code == 1000 or f"close code {self.ws.close_code}"

    async def close(self):
        await self.ws.close()


async def named(kind, nick):
    c = await kind.open()
    await c.send(f"NICK {nick}")
    got = await c.recv()
    if got != f"OK NICK {nick}":
        raise AssertionError(f"NICK {nick}: {got!r}")
    return c


async def exchange(c, sends, want):
    """Sends the commands, reads len(want) replies; True or what differed."""
    for s in sends:
        await c.send(s)
    got = [await c.recv() for _ in want]
    return got == want or got


async def quiet(c, token="quiet"):
    """True when nothing but the PONG to our PING comes back (nothing was pending)."""
    await c.send(f"PING {token}")
    got = await c.recv()
    return got == f"PONG {token}" or f"got {got!r} before the PONG"


# ---------------------------------------------------------------------------------- core --

async def replies(kind):
    c = await kind.open()
    me = f"ann_{kind.kind}"
    # One command at a time: a MSG's copy for its sender comes through the room like everyone
    # else's, so the reply to a command pipelined behind it may come first.
    for cmd, want in [(f"NICK {me}", f"OK NICK {me}"), ("JOIN r1", "OK JOIN r1"),
                      ("WHO r1", f"WHO r1 {me}"), ("MSG r1 hello there", f"MSG r1 {me} hello there"),
                      ("MSG r1 ", f"MSG r1 {me} "), ("MSG r1", f"MSG r1 {me} "),
                      ("LEAVE r1", "OK LEAVE r1"), ("WHO r1", "WHO r1"), ("PING", "PONG"),
                      ("PING 7 8", "PONG 7 8"), ("PONG x", None), ("QUIT", "BYE quit")]:
        await c.send(cmd)
        if want is not None and (got := await c.recv()) != want:
            return f"{cmd!r}: {got!r}"
    return await c.closed()


async def errors(kind):
    c = await kind.open()
    r = await exchange(
        c, ["JOIN r", "MSG r x", "WHO r", "LEAVE r", "HELLO", "PING a", "PONG b", "NICK",
            "NICK " + "n" * 33, "NICK bad/nick", "NICK two words", "NICK " + "n" * 32, "NICK again",
            "JOIN " + "r" * 65, "JOIN a/b", "JOIN", "MSG lobby hi", "LEAVE lobby", "JOIN #ok-1.x_",
            "JOIN #ok-1.x_", "WHO #ok-1.x_", "HELLO", "nick x", "WHO bad/room"],
        ["ERR login first"] * 5 + ["PONG a", "ERR bad nick", "ERR bad nick", "ERR bad nick",
                                   "ERR bad nick", "OK NICK " + "n" * 32, "ERR already named",
                                   "ERR bad room", "ERR bad room", "ERR bad room",
                                   "ERR not in room", "ERR not in room", "OK JOIN #ok-1.x_",
                                   "OK JOIN #ok-1.x_", "WHO #ok-1.x_ " + "n" * 32,
                                   "ERR unknown command", "ERR unknown command", "ERR bad room"])
    await c.close()
    return r


async def crossed():
    """A TCP member and a WebSocket member in one room see each other's messages."""
    t = await named(Tcp, "cross_t")
    w = await named(Ws, "cross_w")
    for c in (t, w):
        await c.send("JOIN cross")
        if (got := await c.recv()) != "OK JOIN cross":
            return got
    await t.send("MSG cross from tcp")
    await w.send("MSG cross from ws, with spaces  and é")
    want = {"MSG cross cross_t from tcp", "MSG cross cross_w from ws, with spaces  and é"}
    got_t = {await t.recv(), await t.recv()}
    got_w = {await w.recv(), await w.recv()}
    await w.send("WHO cross")
    who = await w.recv()
    await t.close()
    await w.close()
    return (got_t == want and got_w == want and who == "WHO cross cross_t cross_w") or (
        got_t, got_w, who)


async def fan_out(members=20, publishers=3, messages=200):
    """Every member (TCP and WebSocket, alternating reactors) gets each message exactly once, in
    each publisher's order; a connection outside the room gets none."""
    cs = []
    for i in range(members):
        cs.append(await named(Tcp if i % 2 == 0 else Ws, f"m{i}"))
    for c in cs:
        await c.send("JOIN fan")
        if (got := await c.recv()) != "OK JOIN fan":
            return got
    out = await named(Tcp, "outsider")
    await out.send("JOIN elsewhere")
    await out.recv()
    out_ws = await named(Ws, "outsider_ws")

    async def publish(p):
        c = cs[p]
        if c.kind == "tcp":  # one write: the server reads many commands per wake-up
            await c.send_raw("".join(f"MSG fan p{p} {i}\n" for i in range(messages)).encode())
        else:
            for i in range(messages):
                await c.send(f"MSG fan p{p} {i}")

    async def collect(c):
        seen = {f"m{p}": [] for p in range(publishers)}
        for _ in range(publishers * messages):
            parts = (await c.recv(20)).split(" ")
            if parts[:2] != ["MSG", "fan"] or parts[2] not in seen or parts[3] != f"p{parts[2][1:]}":
                return f"unexpected {' '.join(parts)!r}"
            seen[parts[2]].append(int(parts[4]))
        for p, got in seen.items():
            if got != list(range(messages)):
                return f"from {p}: {len(got)} messages, first out of place at " + str(
                    next((i for i, v in enumerate(got) if v != i), len(got)))
        return await quiet(c)  # nothing more (no duplicate) queued behind

    readers = [asyncio.create_task(collect(c)) for c in cs]
    await asyncio.gather(*(publish(p) for p in range(publishers)))
    results = await asyncio.gather(*readers)
    bad = [(i, r) for i, r in enumerate(results) if r is not True]
    outsiders = [await quiet(out), await quiet(out_ws)]
    for c in cs + [out, out_ws]:
        await c.close()
    return (not bad and outsiders == [True, True]) or (bad[:3], outsiders)


async def kick(old_kind, new_kind):
    old = await named(old_kind, "twin")
    await old.send("JOIN kick")
    await old.recv()
    new = await named(new_kind, "twin")
    bye = await old.recv()
    closed = await old.closed()
    # The kicked connection left the room: only the newer one shows up once it joins.
    r = await exchange(new, ["JOIN kick", "WHO kick"], ["OK JOIN kick", "WHO kick twin"])
    await new.close()
    return (bye == "BYE kicked" and closed is True and r is True) or (bye, closed, r)


async def close_leaves():
    """A closed connection is out of its rooms (the refuse group checks that its nick is free)."""
    a = await named(Tcp, "leaver")
    await a.send("JOIN gone")
    await a.recv()
    w = await named(Ws, "stayer")
    await w.send("JOIN gone")
    await w.recv()
    await a.close()
    for _ in range(50):  # the close reaches the server's reactor asynchronously
        await w.send("WHO gone")
        if (who := await w.recv()) == "WHO gone stayer":
            break
        await asyncio.sleep(0.05)
    await w.close()
    return who == "WHO gone stayer" or who


async def line_limit():
    """A line of 4096 bytes is a command; one byte more closes that connection only."""
    a = await named(Tcp, "longa")
    b = await named(Tcp, "longb")
    for c in (a, b):
        await c.send("JOIN long")
        await c.recv()
    prefix = "MSG long "
    text = "x" * (MAX_LINE - len(prefix))
    await a.send(prefix + text)  # exactly MAX_LINE bytes (the '\n' is not counted)
    for c in (a, b):
        got = await c.recv()
        if got != f"MSG long longa {text}":
            return f"the {MAX_LINE}-byte line: {got[:40]!r}..."
    await a.send(prefix + text + "y")
    closed = await a.closed()
    alive = await quiet(b)
    await b.close()
    return (closed is True and alive is True) or (closed, alive)


async def text_checks():
    """What would break the other transport is refused: bytes that are not UTF-8 from a line
    client (a browser closes on them), a newline inside a WebSocket command (it would forge a
    line for the line clients)."""
    t = await named(Tcp, "utf_t")
    w = await named(Ws, "utf_w")
    for c in (t, w):
        await c.send("JOIN utf")
        await c.recv()
    await t.send_raw(b"MSG utf \xc0\xaf\n")
    got_t = await t.recv()
    await w.send("MSG utf one\nMSG utf two")
    got_w = await w.recv()
    await w.send("MSG utf caf\u00e9")  # valid UTF-8 gets through to the line client as bytes
    got_t2 = await t.recv()
    await w.recv()  # its own
    ok = await quiet(w, "w")
    await t.close()
    await w.close()
    want = ("ERR bad text", "ERR newline in command", "MSG utf utf_w caf\u00e9", True)
    return (got_t, got_w, got_t2, ok) == want or (got_t, got_w, got_t2, ok)


async def sniff_in_pieces():
    """The first bytes decide the transport even when they come in pieces: a line client's
    first command split mid-word, and an HTTP upgrade sent a few bytes at a time."""
    t = await Tcp.open()
    for piece in (b"NI", b"CK pie", b"ces\r\n"):
        await t.send_raw(piece)
        await asyncio.sleep(0.05)
    got = await t.recv()
    await t.close()
    r, w = await asyncio.open_connection("127.0.0.1", PORT)
    req = (b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    for i in range(0, len(req), 7):
        w.write(req[i:i + 7])
        await w.drain()
        await asyncio.sleep(0.01)
    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)
    w.close()
    return (got == "OK NICK pieces" and head.startswith(b"HTTP/1.1 101 ")) or (got, head[:40])


async def ws_binary():
    """The commands are text: a binary message gets close 1003."""
    w = await Ws.open()
    await w.ws.send(b"NICK bin")
    try:
        await asyncio.wait_for(w.ws.recv(), 5)
    except websockets.ConnectionClosed:
        pass
    return w.ws.close_code == 1003 or f"close code {w.ws.close_code}"


async def core():
    for kind in (Tcp, Ws):
        await check(f"{kind.kind}: NICK/JOIN/WHO/MSG/LEAVE/PING/PONG/QUIT replies, then closed",
                    replies(kind))
        await check(f"{kind.kind}: login first, bad nick/room, already named, not in room, "
                    "join twice, unknown", errors(kind))
    await check("a TCP and a WebSocket member see each other's messages", crossed())
    await check("fan-out: 20 members (TCP+WS, both reactors) x 3 publishers x 200: each once, "
                "in order; outsiders get none", fan_out(), timeout=90)
    await check("duplicate nick: the older TCP connection gets BYE kicked, closed", kick(Tcp, Tcp))
    await check("duplicate nick: an older WebSocket kicked by a TCP login", kick(Ws, Tcp))
    await check("duplicate nick: an older TCP connection kicked by a WebSocket login", kick(Tcp, Ws))
    await check("a close leaves the rooms", close_leaves())
    await check(f"a {MAX_LINE}-byte line passes; a longer one closes only its connection",
                line_limit())
    await check("non-UTF-8 line text and a newline in a WebSocket command are refused",
                text_checks())
    await check("the transport is sniffed from first bytes in pieces", sniff_in_pieces())
    await check("a binary WebSocket message gets close 1003", ws_binary())


# -------------------------------------------------------------------------------- refuse --

async def refuse():
    a = await named(Tcp, "solo")
    b = await Ws.open()
    r = await exchange(b, ["NICK solo", "JOIN x", "NICK other"],
                       ["ERR nick in use", "ERR login first", "OK NICK other"])
    alive = await quiet(a)
    await a.close()
    c = None
    for _ in range(50):  # until the server has seen the close
        c = await Tcp.open()
        await c.send("NICK solo")
        if (got := await c.recv()) == "OK NICK solo":
            break
        await c.close()
        await asyncio.sleep(0.05)
    await b.close()
    await c.close()
    return (r is True and alive is True and got == "OK NICK solo") or (r, alive, got)


# --------------------------------------------------------------------------------- login --

async def login_timeout(kind, deadline=1.0):
    named_one = await named(kind, f"prompt_{kind.kind}")
    late = await kind.open()
    start = time.monotonic()
    await late.send("PING")  # not a login: the deadline stands
    pong = await late.recv()
    bye = await late.recv(deadline + 3)
    took = time.monotonic() - start
    closed = await late.closed()
    alive = await quiet(named_one)  # past the same deadline, still served
    await named_one.close()
    in_time = deadline * 0.8 <= took <= deadline + 2
    return (pong == "PONG" and bye == "BYE login timeout" and closed is True and in_time and
            alive is True) or (pong, bye, closed, round(took, 2), alive)


async def login():
    await check("tcp: no NICK within the deadline: BYE login timeout, closed; a named one stays",
                login_timeout(Tcp))
    await check("ws: no NICK within the deadline: BYE login timeout, close 1000", login_timeout(Ws))


# ----------------------------------------------------------------------------- heartbeat --

async def silent_line_client(interval=0.5):
    c = await named(Tcp, "silent")
    start = time.monotonic()
    ping = await c.recv(interval * 4)
    closed = await c.closed(interval * 4)
    took = time.monotonic() - start
    return (ping == "PING" and closed is True and took < interval * 5) or (ping, closed, took)


async def answering_line_client(interval=0.5):
    c = await named(Tcp, "answers")
    pings = 0
    end = time.monotonic() + interval * 8
    while time.monotonic() < end:
        try:
            got = await c.recv(0.2)
        except asyncio.TimeoutError:
            continue
        if got == "PING":
            pings += 1
            await c.send("PONG")
    alive = await quiet(c)
    await c.close()
    return (pings >= 2 and alive is True) or (pings, alive)


async def ws_client_stays(interval=0.5):
    w = await named(Ws, "wsbeat")
    await asyncio.sleep(interval * 8)  # the library answers the server's pings by itself
    alive = await quiet(w)
    await w.close()
    return alive


async def heartbeat():
    await check("heartbeat: a line client that never answers gets PING, then is closed",
                silent_line_client())
    await check("heartbeat: a line client answering PONG stays (4 intervals+)",
                answering_line_client())
    await check("heartbeat: a WebSocket client (pong frames) stays", ws_client_stays())


async def main():
    await {"core": core, "refuse": lambda: check("refuse: a duplicate NICK is refused, the first "
                                                 "stays; the nick is free after its close",
                                                 refuse()),
           "login": login, "heartbeat": heartbeat}[GROUP]()
    print("chat_client: done", flush=True)


try:
    asyncio.run(main())
except Exception:
    traceback.print_exc()
