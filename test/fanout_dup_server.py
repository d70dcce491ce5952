#!/usr/bin/env python3
"""A Redis pub/sub stand-in that misbehaves once: the 50th PUBLISH reaches every subscriber
twice. test/cli_test.sh points `percore bench --fanout --protocol redis` at it and expects
the duplicates named and a non-zero exit. Usage: fanout_dup_server.py PORT"""
import asyncio
import sys

subscribers = {}  # room -> set of writers
published = 0


async def read_command(reader):
    line = await reader.readline()
    if not line.startswith(b"*"):
        return None
    args = []
    for _ in range(int(line[1:])):
        size = int((await reader.readline())[1:])
        args.append((await reader.readexactly(size + 2))[:-2])
    return args


def bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


async def serve(reader, writer):
    global published
    try:
        while (args := await read_command(reader)) is not None:
            if args[0].upper() == b"SUBSCRIBE":
                subscribers.setdefault(args[1], set()).add(writer)
                writer.write(b"*3\r\n" + bulk(b"subscribe") + bulk(args[1]) + b":1\r\n")
            elif args[0].upper() == b"PUBLISH":
                published += 1
                frame = b"*3\r\n" + bulk(b"message") + bulk(args[1]) + bulk(args[2])
                members = subscribers.get(args[1], set())
                for w in members:
                    w.write(frame * (2 if published == 50 else 1))
                writer.write(b":%d\r\n" % len(members))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    for room in subscribers.values():
        room.discard(writer)
    writer.close()


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()


asyncio.run(main())
