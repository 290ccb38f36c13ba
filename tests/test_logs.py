"""Logging: structlog events and standard-library records (uvicorn's, when it runs with
log_config=None as ``tenantgate serve`` starts it) on stderr, at the configured level, as JSON
lines when asked; configuring twice never logs a line twice."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from pydantic import ValidationError

from tenantgate.logs import configure_logging
from tenantgate.settings import Settings


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    configure_logging("info", "console")


def test_json_lines_carry_event_level_logger_and_time(capsys) -> None:
    configure_logging("info", "json")

    structlog.get_logger("tenantgate.test").info("token_issued", tenant_id="t1")
    logging.getLogger("tests.stdlib").info("Started server process [%d]", 42)

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(x["event"], x["level"], x["logger"]) for x in lines] == [
        ("token_issued", "info", "tenantgate.test"),
        ("Started server process [42]", "info", "tests.stdlib"),
    ]
    assert lines[0]["tenant_id"] == "t1"
    assert all(x["timestamp"].endswith("Z") for x in lines)


def test_events_below_the_level_are_dropped(capsys) -> None:
    configure_logging("warning", "json")

    structlog.get_logger("tenantgate.test").info("quiet")
    structlog.get_logger("tenantgate.test").warning("loud")
    logging.getLogger("tests.stdlib").info("also quiet")

    events = [json.loads(line)["event"] for line in capsys.readouterr().err.splitlines()]
    assert events == ["loud"]


def test_configuring_again_replaces_the_handler(capsys) -> None:
    configure_logging("info", "console")
    configure_logging("info", "console")

    structlog.get_logger("tenantgate.test").info("once_only")

    assert capsys.readouterr().err.count("once_only") == 1


def test_the_level_and_format_settings_are_checked() -> None:
    assert Settings(log_level="WARNING", log_format="JSON").log_level == "warning"
    for bad in ({"log_level": "verbose"}, {"log_format": "xml"}):
        with pytest.raises(ValidationError):
            Settings(**bad)
