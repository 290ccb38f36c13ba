"""The uvicorn server that ``tenantgate serve`` runs.

Two differences from uvicorn's own: any second SIGTERM or SIGINT ends it at once (uvicorn
forces the exit on a second SIGINT only, so an orchestrator that sends SIGTERM twice would
still wait for requests in flight), and a shutdown that completed exits with status 0 rather
than by raising the signal again, so that a supervisor can tell a clean stop (0) from a crash.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

import uvicorn


class GracefulServer(uvicorn.Server):
    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig in (signal.SIGTERM, signal.SIGINT):
            self.force_exit = True
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()  # stopped as asked: exit 0, not by the signal
