"""The ``tenantgate`` command."""

from __future__ import annotations

from tenantgate.cli.main import app, main

__all__ = ["app", "main"]
