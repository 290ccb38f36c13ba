"""HTTP/1.1 by hand, for tests about what a server reads off the socket and when: a request
whose body is shorter than it announces, repeated headers, bytes no client library sends."""

from __future__ import annotations

import asyncio


async def exchange(port: int, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Sends ``head`` and ``body`` (however much of the announced length that is) and reads the
    answer the server gives without waiting for the rest."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode("latin-1") + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
        headers: dict[str, str] = {}
        while (line := await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        content = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 5)
        return int(status_line.split()[1]), headers, content
    finally:
        writer.close()
