#!/usr/bin/env python3
"""An echo server that corrupts one byte in every 1,000 it echoes. test/cli_test.sh gives it
to `percore bench --compare` as a NAME=COMMAND server and expects the mismatches shown under
the table and a non-zero exit. Usage: bad_echo_server.py PORT"""
import asyncio
import sys

echoed = 0


async def serve(reader, writer):
    global echoed
    while data := await reader.read(65536):
        out = bytearray(data)
        for i in range(len(out)):
            echoed += 1
            if echoed % 1000 == 0:
                out[i] ^= 0x01
        writer.write(out)
        await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()


asyncio.run(main())
