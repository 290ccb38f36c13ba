"""Jinja filters: how times, counts and app lists read on a console page."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from jinja2 import Environment


def when(value: str | None, seconds: bool = False) -> str:
    """``2026-11-28T10:15:00Z`` → ``2026-11-28 10:15 UTC``; nothing → ``never``."""
    if not value:
        return "never"
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return at.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def detail(value: Any) -> str:
    """An audit detail value as it would read in JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def thousands(value: int) -> str:
    """``100000`` → ``100,000``."""
    return f"{value:,}"


def app_list(apps: list[str] | None) -> str:
    if apps is None:
        return "all apps"
    return ", ".join(apps) if apps else "no apps"


def install(env: Environment) -> None:
    env.filters["when"] = when
    env.filters["app_list"] = app_list
    env.filters["detail"] = detail
    env.filters["thousands"] = thousands
