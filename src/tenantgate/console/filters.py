"""Jinja filters: how times and app lists read on a console page."""

from __future__ import annotations

from datetime import datetime

from jinja2 import Environment


def when(value: str | None) -> str:
    """``2026-11-28T10:15:00Z`` → ``2026-11-28 10:15 UTC``; nothing → ``never``."""
    if not value:
        return "never"
    return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")


def app_list(apps: list[str] | None) -> str:
    if apps is None:
        return "all apps"
    return ", ".join(apps) if apps else "no apps"


def install(env: Environment) -> None:
    env.filters["when"] = when
    env.filters["app_list"] = app_list
