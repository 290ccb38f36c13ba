"""The newcomer's first minute with roles: ``tenantgate demo`` prints one command for its
read-only integration, and pasted into a shell it shows a mutation refused, 403 FORBIDDEN,
while the same integration's queries go through."""

from __future__ import annotations

import json
import re
import subprocess

import httpx
import pytest

from tests.cli.shell import serving

pytestmark = pytest.mark.slow


def pasted(printed: str) -> str:
    lines = printed.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("See the gateway refuse"))
    return lines[index + 1].strip()


def test_the_printed_command_shows_the_read_only_integrations_mutation_refused(tmp_path):
    with serving(tmp_path, tmp_path, "demo") as demo:
        command = pasted(demo.stdout)
        shown = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=60, check=True
        )
        body, status = shown.stdout.rsplit(" (HTTP ", 1)
        assert status.strip() == "403)"
        assert json.loads(body)["errors"][0]["extensions"] == {
            "code": "FORBIDDEN",
            "operation": "mutation",
            "field": "postSalesOrder",
        }

        token_command = re.search(r"READER=\$\((.*)\) && curl", command)
        assert token_command is not None
        token = subprocess.run(
            ["bash", "-c", token_command.group(1)], capture_output=True, text=True, check=True
        ).stdout.strip()
        read = httpx.post(
            f"{demo.url}/v1/fwd/cluster-release/sdmo/api",
            headers={"Authorization": f"Bearer {token}"},
            json={"query": "{ items(first: 1) { edges { node { code } } } }"},
            timeout=10,
        )
        assert read.status_code == 200 and read.json()["data"]["items"]["edges"]
