"""``tenantgate serve`` with TENANTGATE_LOG_FORMAT=json: every line it writes to stderr, the
server's own and uvicorn's, is one JSON object."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_writes_json_lines(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTGATE_")}
    env.update(
        TENANTGATE_DATABASE_URL=f"sqlite:///{tmp_path}/tenantgate.db",
        TENANTGATE_DATA_DIR=str(tmp_path),
        TENANTGATE_ADMIN_TOKEN="tga_serve-logs-test",
        TENANTGATE_REFAPPS="false",
        TENANTGATE_LOG_FORMAT="json",
    )
    argv = [sys.executable, "-c", "from tenantgate.cli import main; main()", "serve"]
    server = subprocess.Popen(
        [*argv, "--port", str(port)], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                refused = httpx.get(f"http://127.0.0.1:{port}/v1/fwd/c/sdmo/api", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)

    assert refused.status_code == 401
    lines = [json.loads(line) for line in err.decode().splitlines() if line.strip()]
    loggers = {line.get("logger") for line in lines}
    assert "uvicorn.error" in loggers
    assert any(line["event"] == "gateway_refused" for line in lines)
    assert all({"event", "level", "timestamp"} <= line.keys() for line in lines)
