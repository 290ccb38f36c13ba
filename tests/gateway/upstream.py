"""A real upstream for the gateway tests: a small Starlette app served by uvicorn on
127.0.0.1 in a background thread, plus a server that drops every connection.

Behaviour is chosen by the path of the URL the operator registers for an app:

- ``/echo/<marker>``: 200 with what arrived (method, path, query, headers, body) and the marker
- ``/status/<code>``: that status, with a GraphQL-shaped body
- ``/sleep/<seconds>``: waits, then echoes
- ``/big/<n>``: n bytes with a Content-Length; ``/chunked/<n>``: n bytes, streamed without one
- ``/hop``: an answer carrying hop-by-hop headers
- ``/close``: echoes, then closes the connection (``Connection: close``)"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "marker": request.path_params.get("marker"),
            "peer": request.client.port if request.client else None,
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
            "body": body.decode(),
        }
    )


async def status(request: Request) -> Response:
    code = request.path_params["code"]
    body = {"errors": [{"message": f"upstream says {code}"}]}
    return JSONResponse(body, status_code=code, media_type="application/graphql-response+json")


async def sleep(request: Request) -> Response:
    await asyncio.sleep(request.path_params["seconds"])
    return await echo(request)


async def big(request: Request) -> Response:
    return Response(b"x" * request.path_params["n"], media_type="application/octet-stream")


async def chunked(request: Request) -> Response:
    n = request.path_params["n"]

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, n, 65536):
            yield b"y" * min(65536, n - start)

    return StreamingResponse(chunks(), media_type="application/octet-stream")


async def hop(_request: Request) -> Response:
    headers = {
        "Connection": "X-Upstream-Private",
        "X-Upstream-Private": "secret",
        "Keep-Alive": "timeout=5",
        "Proxy-Authenticate": "Basic",
        "Trailer": "X-Checksum",
        "Upgrade": "h2c",
        "X-Kept": "yes",
    }
    return JSONResponse({"data": {"ok": True}}, headers=headers)


async def close(request: Request) -> Response:
    response = await echo(request)
    response.headers["Connection"] = "close"
    return response


def echo_app() -> Starlette:
    methods = ["GET", "POST"]
    return Starlette(
        routes=[
            Route("/echo/{marker}", echo, methods=methods),
            Route("/status/{code:int}", status, methods=methods),
            Route("/sleep/{seconds:float}", sleep, methods=methods),
            Route("/big/{n:int}", big, methods=methods),
            Route("/chunked/{n:int}", chunked, methods=methods),
            Route("/hop", hop, methods=methods),
            Route("/close", close, methods=methods),
        ]
    )


def bound_socket() -> socket.socket:
    # IPPROTO_TCP named, so that asyncio sees a TCP socket and sets TCP_NODELAY: without it
    # every small answer waited on Nagle's algorithm (about 40 ms a request).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def closed_port() -> int:
    """A port nothing listens on: bound once to learn a free number, then closed."""
    sock = bound_socket()
    port = sock.getsockname()[1]
    sock.close()
    return port


@contextmanager
def serve_echo() -> Iterator[str]:
    sock = bound_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        echo_app(), log_level="warning", lifespan="off", ws="none", loop="asyncio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    _wait_listening(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def serve_dropper() -> Iterator[str]:
    """Accepts, reads the request, closes without answering (a reset to the gateway)."""
    sock = bound_socket()
    sock.listen(16)
    sock.settimeout(0.2)
    port = sock.getsockname()[1]
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                connection, _ = sock.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(1)
                with suppress(OSError):
                    connection.recv(65536)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        thread.join(5)
        sock.close()


def _wait_listening(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            threading.Event().wait(0.02)
    raise RuntimeError("echo upstream did not start")
