"""What deploy/nginx.conf costs: the token endpoint and the gateway through nginx, against the
same node called directly, in one run.

    python bench/nginx.py [--duration 10] [--connections 16] [--warmup 2] [--rounds 1] [--nice 0]

Starts, each as its own process on 127.0.0.1:

- a fixed-body upstream (the GraphQL app behind the gateway; bench/gateway.py's),
- one tenantgate node (uvicorn, one worker, uvloop + httptools, temp SQLite) that trusts
  127.0.0.1 as its proxy (``TENANTGATE_TRUSTED_PROXIES``), with a tenant whose app is that
  upstream and one accepted application,
- nginx running deploy/nginx.conf itself, its ``upstream`` rewritten to that one node and its
  ``listen`` to a loopback port (as tests/deploy/test_nginx.py does).

Four cases: (a) token endpoint direct, (b) token endpoint through nginx, (c) gateway direct,
(d) gateway through nginx; each measured with ``--connections`` keep-alive connections
(throughput) and with one (latency). tenantgate is pinned to CPU 0; wrk, nginx and the upstream
share CPU 1, so nginx's own work is not taken from the node. With ``--rounds N`` the cases run
round-robin N times and the median of each figure is shown. Needs wrk and /usr/sbin/nginx.
Only the processes started here are stopped, by PID.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import (  # noqa: E402
    LOAD_CPU,
    NGINX,
    Case,
    Processes,
    free_port,
    median_case,
    processes,
    start_nginx,
    wait_port,
    wrk,
)

from gateway import QUERY, start_tenantgate  # noqa: E402

CONF = HERE.parent / "deploy" / "nginx.conf"

TOKEN_LUA = """
wrk.method = "POST"
wrk.body = "{form}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
"""
GATEWAY_LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
"""


def start_proxy(procs: Processes, tmp: Path, node: int) -> int:
    """deploy/nginx.conf with one server (the node) and a loopback listen address, included
    from a minimal main configuration whose pid, logs and temp folders are in ``tmp``."""
    site = CONF.read_text()
    server = f"    server 127.0.0.1:{node} max_fails=1 fail_timeout=5s;\n"
    site, count = re.subn(
        r"(?m)^    server 10\.0\.0\.\d+:8000 .*;\n(?:    server 10.*\n)*", server, site
    )
    if count != 1:
        raise SystemExit("deploy/nginx.conf no longer lists its servers as this bench expects")
    port = free_port()
    site, count = re.subn(r"(?m)^    listen 80;$", f"    listen 127.0.0.1:{port};", site)
    if count != 1:
        raise SystemExit("deploy/nginx.conf no longer listens as this bench expects")
    (tmp / "tenantgate.conf").write_text(site)
    start_nginx(procs, tmp, f"    include {tmp}/tenantgate.conf;", port, LOAD_CPU)
    return port


def measure(url: str, lua: str, args: argparse.Namespace, tmp: Path) -> Case:
    wrk(url, lua, args.connections, args.warmup, tmp)
    loaded = wrk(url, lua, args.connections, args.duration, tmp)
    unloaded = wrk(url, lua, 1, args.duration, tmp)
    return Case(loaded, unloaded)


def run(args: argparse.Namespace) -> dict[str, Case]:
    with tempfile.TemporaryDirectory(prefix="tg-bench-") as name, processes() as procs:
        tmp = Path(name)
        upstream = free_port()
        procs.start(
            [sys.executable, str(HERE / "gateway.py"), "--serve-upstream", str(upstream)],
            LOAD_CPU,
        )
        wait_port(upstream)
        node = start_tenantgate(procs, tmp, upstream, TENANTGATE_TRUSTED_PROXIES="127.0.0.1")
        proxy = start_proxy(procs, tmp, node.port)
        token_lua = TOKEN_LUA.format(form=node.form)
        gateway_lua = GATEWAY_LUA.format(body=json.dumps(QUERY), token=node.token)
        path = node.gateway_url.split(str(node.port), 1)[1]
        cases = {
            "(a) token endpoint, direct": (f"http://127.0.0.1:{node.port}/v1/token", token_lua),
            "(b) token endpoint, through nginx": (f"http://127.0.0.1:{proxy}/v1/token", token_lua),
            "(c) gateway, direct": (f"http://127.0.0.1:{node.port}{path}", gateway_lua),
            "(d) gateway, through nginx": (f"http://127.0.0.1:{proxy}{path}", gateway_lua),
        }
        runs: dict[str, list[Case]] = {case: [] for case in cases}
        for _ in range(args.rounds):
            for case, (url, lua) in cases.items():
                runs[case].append(measure(url, lua, args, tmp))
        return {case: median_case(found) for case, found in runs.items()}


def row(name: str, case: Case) -> str:
    r, u = case.loaded, case.unloaded
    bad = r.non_2xx + u.non_2xx + r.errors + u.errors
    return (
        f"| {name} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {bad} "
        f"| {u.p50_ms:.2f} | {u.p99_ms:.2f} |"
    )


def table(results: dict[str, Case], connections: int) -> str:
    lines = [
        f"| case | req/s ({connections} conn) | p50 ms | p99 ms | non-2xx "
        "| p50 ms (1 conn) | p99 ms (1 conn) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(row(name, case) for name, case in results.items()),
        "",
    ]
    pairs = (("token endpoint", "(a)", "(b)"), ("gateway", "(c)", "(d)"))
    by_letter = {name[:3]: case for name, case in results.items()}
    for what, direct_key, proxied_key in pairs:
        direct, proxied = by_letter[direct_key], by_letter[proxied_key]
        ratio = proxied.loaded.rps / direct.loaded.rps
        added = proxied.unloaded.p50_ms - direct.unloaded.p50_ms
        lines.append(
            f"- {what} through nginx: {ratio:.0%} of direct throughput, "
            f"p50 +{added:.2f} ms on one connection"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per case")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per case")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--rounds", type=int, default=1, help="rounds; the median is shown")
    parser.add_argument(
        "--nice", type=int, default=0, help="niceness for this and its processes (negative: root)"
    )
    args = parser.parse_args()
    if not NGINX.exists() or not shutil.which("wrk"):
        raise SystemExit("needs /usr/sbin/nginx and wrk (Debian: apt-get install nginx-light wrk)")
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    version = subprocess.run([str(NGINX), "-v"], capture_output=True, text=True).stderr.strip()
    print(
        f"{version}; {args.connections} connections, {args.warmup:g} s warm-up + "
        f"{args.duration:g} s per case and pass, {args.rounds} round(s), "
        f"load average {os.getloadavg()[0]:.1f}\n",
        flush=True,
    )
    print(table(run(args), args.connections))


if __name__ == "__main__":
    main()
