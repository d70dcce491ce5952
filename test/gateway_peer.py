#!/usr/bin/env python3
"""The two peers of docs/examples/gateway.cc for test/gateway_e2e.sh, over loopback TCP.

  gateway_peer.py backend PORT   answers each [u32 len][u64 id][payload] frame (the
                                 ClientPool's framing) with the same id and b"ok:" + payload
  gateway_peer.py clients PORT N M
                                 N clients on the gateway, each sending M [u32 len][body]
                                 messages (all written first, then read); prints one line per
                                 answer kind: "match K" (b"ok:" + one of its own messages),
                                 "error K" (body starts with b"error: "), "other K"
"""
import collections
import socket
import struct
import sys
import threading


def read_exactly(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("peer closed")
        buf += chunk
    return buf


def serve_conn(conn):
    with conn:
        try:
            while True:
                (length,) = struct.unpack(">I", read_exactly(conn, 4))
                body = read_exactly(conn, length)
                reply = body[:8] + b"ok:" + body[8:]
                conn.sendall(struct.pack(">I", len(reply)) + reply)
        except (EOFError, ConnectionError):
            pass


def backend(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)
    print("listening", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve_conn, args=(conn,), daemon=True).start()


def clients(port, n, m):
    counts = {"match": 0, "error": 0, "other": 0}
    lock = threading.Lock()

    def one(i):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            sent = [b"client %d message %d" % (i, k) for k in range(m)]
            s.sendall(b"".join(struct.pack(">I", len(b)) + b for b in sent))
            got = []
            for _ in sent:
                (length,) = struct.unpack(">I", read_exactly(s, 4))
                got.append(read_exactly(s, length))
        # Answers may come in any order (two backend connections answer independently): each
        # expected answer matches at most one received body.
        wanted = collections.Counter(b"ok:" + w for w in sent)
        with lock:
            for body in got:
                if wanted[body] > 0:
                    wanted[body] -= 1
                    counts["match"] += 1
                elif body.startswith(b"error: "):
                    counts["error"] += 1
                else:
                    counts["other"] += 1

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for kind, k in counts.items():
        print(kind, k)


if __name__ == "__main__":
    if sys.argv[1] == "backend":
        backend(int(sys.argv[2]))
    else:
        clients(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
