"""Checks `percore serve --app ws` with the `websockets` library (asyncio API: Debian 12 has
10.4, without websockets.sync) and with raw frames over a plain socket for what a conforming
client will not send (bad UTF-8, unmasked frames, frames pipelined behind the upgrade).

Usage: python3 test/ws_client.py PORT
Prints "ok   NAME" / "FAIL NAME" per check, then "ws_client: done" if it ran to the end.
"""
import asyncio
import os
import socket
import sys
import traceback

import websockets

PORT = int(sys.argv[1])
URI = f"ws://127.0.0.1:{PORT}/ws"
MAX_MESSAGE = 1 << 20  # the ws app's WsCodec max_message


def report(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok or not detail else ': ' + detail}",
          flush=True)


async def check(name, coro, timeout=20):
    try:
        result = await asyncio.wait_for(coro, timeout)
        if result is True:
            report(name, True)
        else:
            report(name, False, repr(result)[:200])
    except Exception as e:  # a check that raises failed; say why
        report(name, False, f"{type(e).__name__}: {e}"[:300])


async def text_echo():
    async with websockets.connect(URI) as ws:
        await ws.send("hello, percore")
        got = await ws.recv()
        return got == "hello, percore" or got


async def binary_echo():
    data = os.urandom(100 * 1000)
    async with websockets.connect(URI) as ws:
        await ws.send(data)
        got = await ws.recv()
        return (isinstance(got, bytes) and got == data) or f"{type(got)} {len(got)} bytes"


async def fragmented_echo():
    async with websockets.connect(URI) as ws:
        await ws.send(["frag-one ", "frag-two ", "frag-three"])  # an iterable: 3 fragments
        got = await ws.recv()
        return got == "frag-one frag-two frag-three" or got


async def ping_pong():
    async with websockets.connect(URI) as ws:
        # The waiter resolves only on a pong carrying this same payload.
        waiter = await ws.ping(b"are you there")
        await asyncio.wait_for(waiter, 5)
        return True


async def close_code(code):
    ws = await websockets.connect(URI)
    await ws.close(code)
    return ws.close_code == code or f"server's close code {ws.close_code}"


async def max_size_echo():
    data = os.urandom(MAX_MESSAGE)  # one frame of exactly max_message: still accepted
    async with websockets.connect(URI, max_size=None) as ws:
        await ws.send(data)
        got = await ws.recv()
        return got == data or f"{len(got)} bytes"


async def too_big():
    ws = await websockets.connect(URI, max_size=None)
    try:
        await ws.send(b"x" * (MAX_MESSAGE + 1))
        await ws.recv()
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    return ws.close_code == 1009 or f"close code {ws.close_code}"


async def many_clients(n=200, messages=50):
    async def one(k):
        async with websockets.connect(URI, open_timeout=20) as ws:
            for i in range(messages):
                msg = f"client {k} message {i}" if i % 2 else f"client {k} {i}".encode()
                await ws.send(msg)
                if await ws.recv() != msg:
                    return False
            return True

    results = await asyncio.gather(*(one(k) for k in range(n)), return_exceptions=True)
    good = sum(1 for r in results if r is True)
    return good == n or f"{good}/{n} clients echoed everything; first bad: " + repr(
        next(r for r in results if r is not True))


# Raw frames over a plain socket.
UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def frame(opcode, payload, mask=True, fin=True):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n <= 0xFFFF:
        head += bytes([bit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([bit | 127]) + n.to_bytes(8, "big")
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def server_frames(data):
    """(opcode, payload) of each whole unmasked server frame in data."""
    out = []
    while len(data) >= 2:
        op, n = data[0] & 0x0F, data[1] & 0x7F
        pos = 2
        if n == 126:
            n, pos = int.from_bytes(data[2:4], "big"), 4
        elif n == 127:
            n, pos = int.from_bytes(data[2:10], "big"), 10
        if len(data) < pos + n:
            break
        out.append((op, data[pos:pos + n]))
        data = data[pos + n:]
    return out


def raw_exchange(payload):
    """Sends UPGRADE + payload in one write; returns (status line, frames after the head) read
    until the server closes (5 s at most)."""
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as s:
        s.sendall(UPGRADE + payload)
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except socket.timeout:
            pass
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], server_frames(rest)


def close_of(frames):
    closes = [p for op, p in frames if op == 8]
    return int.from_bytes(closes[0][:2], "big") if closes and len(closes[0]) >= 2 else None


async def raw_close_code(payload, want):
    status, frames = await asyncio.to_thread(raw_exchange, payload)
    if status != b"HTTP/1.1 101 Switching Protocols":
        return f"status {status}"
    return close_of(frames) == want or f"frames {frames[:3]}"


async def accept_key():
    # RFC 6455 1.3's example key and the accept value it gives.
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as s:
        s.sendall(UPGRADE)
        head = b""
        while b"\r\n\r\n" not in head and (chunk := s.recv(4096)):
            head += chunk
    return b"\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in head or head


async def pipelined():
    # Frames in the same write as the upgrade request: decoded as WebSocket after the 101.
    status, frames = await asyncio.to_thread(
        raw_exchange,
        frame(1, b"right behind the upgrade") + frame(9, b"p") + frame(8, (1000).to_bytes(2, "big")))
    want = [(1, b"right behind the upgrade"), (10, b"p"), (8, (1000).to_bytes(2, "big"))]
    return (status == b"HTTP/1.1 101 Switching Protocols" and frames == want) or (status, frames)


async def main():
    await check("handshake and text echo", text_echo())
    await check("binary echo of 100 KB", binary_echo())
    await check("a 3-fragment text message is echoed whole", fragmented_echo())
    await check("ping gets a pong with the same payload", ping_pong())
    await check("a normal close gets 1000 back", close_code(1000))
    await check("a close with 4000 gets 4000 back", close_code(4000))
    await check("101 with RFC 6455's example accept key", accept_key())
    await check("frames pipelined behind the upgrade are echoed", pipelined())
    await check("invalid UTF-8 text gets close 1007", raw_close_code(frame(1, b"\xc0\xaf"), 1007))
    await check("an unmasked frame gets close 1002", raw_close_code(frame(1, b"hi", mask=False),
                                                                   1002))
    await check("a message of exactly 1 MiB is echoed", max_size_echo())
    await check("a message above 1 MiB gets close 1009", too_big())
    await check("200 concurrent clients x 50 messages all echoed", many_clients(), timeout=90)
    # The server is still fine after all that.
    await check("text echo after the errors", text_echo())
    print("ws_client: done", flush=True)


try:
    asyncio.run(main())
except Exception:
    traceback.print_exc()
