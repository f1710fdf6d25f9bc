#!/usr/bin/env python3
"""A TCP relay on 127.0.0.1 that counts the bytes it forwards, for
bench/mqtt_bytes.sh: a device dials the relay instead of its server (the
coordinator's gRPC port or the MQTT broker) and every chunk forwarded is
logged with its wall-clock time, so the bytes of one exchange (e.g. an
update's upload, bracketed by the device's log lines) can be summed. TLS
passes through untouched: the counts are what crosses the network.

  byte_relay.py --target 127.0.0.1:PORT --log FILE

Prints "relay listening on port N" on stdout; FILE gets one line per chunk:
"<unix seconds> up|down <bytes>" (up: device to server).
"""
import argparse
import asyncio
import time


async def pump(reader, writer, direction, log):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            log.write(f"{time.time():.6f} {direction} {len(data)}\n")
            log.flush()
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    log = open(args.log, "a")

    async def handle(client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pump(client_reader, server_writer, "up", log),
                             pump(server_reader, client_writer, "down", log))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(f"relay listening on port {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
