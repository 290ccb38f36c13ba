"""What the benchmarks share: ports, pinning, the processes they start (and stop, by PID),
uvicorn's command line, nginx, and wrk."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SERVER_CPU, LOAD_CPU = 0, 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def pin(pid: int, cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(pid, {cpu})


def pinned(cpu: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > cpu:
        return ["taskset", "-c", str(cpu)]
    return []


@dataclass
class Processes:
    started: list[subprocess.Popen[bytes]]

    def start(self, argv: list[str], cpu: int, **kwargs: object) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(pinned(cpu) + argv, **kwargs)  # type: ignore[call-overload]
        self.started.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self) -> None:
        for process in reversed(self.started):
            self.stop(process)


NGINX = Path("/usr/sbin/nginx")


def start_nginx(procs: Processes, tmp: Path, http: str, port: int, cpu: int) -> None:
    """nginx in the foreground with ``http`` as its ``http`` block, its pid, logs and temp
    folders in ``tmp``; returns once it listens on ``port``."""
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{http}
}}
"""
    )
    os.chmod(tmp, 0o777)  # nginx's workers run as another user
    argv = [str(NGINX), "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "nginx-error.log")]
    procs.start(argv, cpu)
    wait_port(port)


def uvicorn_argv(target: str, port: int, *extra: str) -> list[str]:
    """uvicorn as ``tenantgate serve`` runs it (no access log, no proxy-header rewriting)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--no-proxy-headers",
        "--log-level",
        "warning",
        *extra,
    ]


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert match, text
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def wrk(url: str, lua: str, connections: int, seconds: float, tmp: Path) -> Result:
    """One wrk run with a Lua script, pinned to the load CPU; parses its --latency output."""
    script = tmp / "load.lua"
    script.write_text(lua)
    argv = [
        *pinned(LOAD_CPU),
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return Result(
        rps,
        p50,
        p99,
        int(non_2xx.group(1)) if non_2xx else 0,
        sum(int(g) for g in errors.groups()) if errors else 0,
    )


@contextlib.contextmanager
def processes() -> Iterator[Processes]:
    procs = Processes([])
    try:
        yield procs
    finally:
        procs.stop_all()


@dataclass
class Case:
    """One target measured twice: loaded (many connections) and unloaded (one)."""

    loaded: Result
    unloaded: Result


def median_case(cases: list[Case]) -> Case:
    def middle(results: list[Result]) -> Result:
        return Result(
            rps=statistics.median(r.rps for r in results),
            p50_ms=statistics.median(r.p50_ms for r in results),
            p99_ms=statistics.median(r.p99_ms for r in results),
            non_2xx=sum(r.non_2xx for r in results),
            errors=sum(r.errors for r in results),
        )

    return Case(middle([c.loaded for c in cases]), middle([c.unloaded for c in cases]))
