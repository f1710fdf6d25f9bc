#!/usr/bin/env python3
"""A TCP relay on 127.0.0.1 whose link can be cut and restored, for the
network-partition end-to-end test (device_partition_test.sh).

Devices dial the relay; it forwards each connection byte for byte to the
coordinator, so TLS passes through untouched (the relay never sees a
plaintext byte, and the devices still check the coordinator's certificate
against the address they dial, 127.0.0.1).

  SIGUSR1  cut: every open connection is reset (RST on both sides), and
           while cut every new connection is accepted and reset at once, so
           the devices see the link fail while the coordinator stays up.
  SIGUSR2  restore: new connections are forwarded again.
  SIGTERM  exit.

It logs one line per event to stdout (flushed), which the test waits on:
  relay listening on port N
  relay cut: N connections reset
  relay restored: N connections refused while cut

  partition_relay.py --target 127.0.0.1:PORT
"""
import argparse
import asyncio
import signal
import socket
import struct
import sys
import time


def log(line):
    print(line, flush=True)


def trace(line):
    """Every connection, with the time, on stderr: when the devices (re)connected."""
    print(f"{time.strftime('%H:%M:%S')}.{int(time.time() * 1000) % 1000:03d} {line}", file=sys.stderr, flush=True)


def reset(writer):
    """Closes with an RST instead of a FIN: a dead link, not a polite close."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


class Relay:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.cut = False
        self.generation = 0  # bumped by every cut: a connection from before it is reset
        self.links = set()   # (device side writer, coordinator side writer)
        self.refused = 0

    async def pipe(self, reader, writer, moved):
        try:
            while data := await reader.read(65536):
                moved[0] += len(data)
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            reset(writer)

    async def serve(self, device_reader, device_writer):
        if self.cut:
            self.refused += 1
            trace("refused a connection (cut)")
            reset(device_writer)
            return
        trace("forwarding a connection")
        generation = self.generation
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            reset(device_writer)
            return
        if generation != self.generation:  # cut while connecting
            reset(up_writer)
            reset(device_writer)
            return
        trace("connected to the coordinator")
        link = (device_writer, up_writer)
        self.links.add(link)
        try:
            up, down = [0], [0]
            await asyncio.gather(self.pipe(device_reader, up_writer, up), self.pipe(up_reader, device_writer, down))
            trace(f"connection closed: {up[0]} bytes up, {down[0]} down")
        except asyncio.CancelledError:
            pass  # the relay is exiting
        finally:
            self.links.discard(link)
            for w in link:
                if not w.is_closing():
                    w.close()

    def on_cut(self):
        self.cut = True
        self.generation += 1
        links = list(self.links)
        for device_writer, up_writer in links:
            reset(device_writer)
            reset(up_writer)
        self.links.clear()
        log(f"relay cut: {len(links)} connections reset")

    def on_restore(self):
        self.cut = False
        log(f"relay restored: {self.refused} connections refused while cut")
        self.refused = 0


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="coordinator host:port")
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    relay = Relay(host, int(port))
    server = await asyncio.start_server(relay.serve, "127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.add_signal_handler(signal.SIGUSR1, relay.on_cut)
    loop.add_signal_handler(signal.SIGUSR2, relay.on_restore)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: done.done() or done.set_result(None))
    log(f"relay listening on port {server.sockets[0].getsockname()[1]}")
    await done
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
