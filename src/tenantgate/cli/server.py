"""The uvicorn server that ``tenantgate serve`` runs: a second SIGTERM ends it at once.

uvicorn's own server treats a second SIGINT as "quit now" but a second SIGTERM as nothing new,
so an operator (or an orchestrator) that sends SIGTERM twice would still wait for requests in
flight. Here any second signal forces the exit."""

from __future__ import annotations

import signal
from types import FrameType

import uvicorn


class GracefulServer(uvicorn.Server):
    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig in (signal.SIGTERM, signal.SIGINT):
            self.force_exit = True
        super().handle_exit(sig, frame)
