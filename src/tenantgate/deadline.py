"""A bound on how long an HTTP request may wait before its answer starts.

The admin API and the console wait on the database. Each of their database calls is bounded
(``storage.database``), but a request may make several, and a connection cut off mid-way
could otherwise add the bounds up. ``Deadline`` answers such a request with its surface's own
503 once ``seconds`` have passed without a response having started; the handler is left to
finish (its calls are bounded) and whatever it sends afterwards is dropped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)


class Deadline:
    def __init__(self, app: ASGIApp, seconds: float, fallback: Callable[[], Response]) -> None:
        self.app = app
        self.seconds = seconds
        self.fallback = fallback
        self._orphans: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = abandoned = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if abandoned:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, guarded_send))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.seconds)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if done or started:
            await task
            return
        abandoned = True
        self._orphans.add(task)
        task.add_done_callback(self._forget)
        log.warning("request_deadline_passed", path=scope.get("path"), seconds=self.seconds)
        await self.fallback()(scope, receive, send)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._orphans.discard(task)
        if not task.cancelled():
            with contextlib.suppress(Exception):
                task.result()
