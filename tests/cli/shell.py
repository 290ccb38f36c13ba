"""The installed ``tenantgate`` command, run as an operator runs it: a process of its own, in a
folder of its own, with a home directory and no ``TENANTGATE_*`` variable but those given."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

COMMAND = str(Path(sys.executable).parent / "tenantgate")


def environment(user_home: Path, **env: str) -> dict[str, str]:
    """A user whose home directory is ``user_home``; ``env`` as ``TENANTGATE_<NAME>`` variables,
    except names already in capitals (``XDG_DATA_HOME``), which are passed as they are."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TENANTGATE_", "XDG_DATA_"))}
    clean["HOME"] = str(user_home)
    for name, value in env.items():
        clean[name if name.isupper() else f"TENANTGATE_{name.upper()}"] = value
    return clean


def tenantgate(
    cwd: Path, user_home: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, *args],
        env=environment(user_home, **env),
        cwd=cwd,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,  # no terminal: a password prompt cannot read from it
    )


def first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``tenantgate serve`` or ``demo`` started in the background; what it printed so far."""

    def __init__(self, process: subprocess.Popen[str], port: int, out: Path) -> None:
        self.process, self.port, self._out = process, port, out
        self.url = f"http://127.0.0.1:{port}"

    @property
    def stdout(self) -> str:
        return self._out.read_text()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


@contextmanager
def serving(cwd: Path, user_home: Path, *args: str, **env: str) -> Iterator[Server]:
    """Runs ``tenantgate <args> --port <free port>`` until /healthz answers; stops it after."""
    port = free_port()
    out = cwd / f"server-{port}.out"
    with out.open("w") as stdout:
        process = subprocess.Popen(
            [COMMAND, *args, "--port", str(port)],
            env=environment(user_home, **env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    server = Server(process, port, out)
    try:
        _wait_until_up(server)
        yield server
    finally:
        server.stop()


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.process.poll() is None, f"it exited: {server.stdout}"
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"it did not start: {server.stdout}")
