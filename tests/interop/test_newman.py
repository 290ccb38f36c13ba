"""The Postman collection passes under newman against a server of its own (postman/run.sh)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

POSTMAN = Path(__file__).resolve().parents[2] / "postman"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (POSTMAN / "node_modules" / ".bin" / "newman").exists(),
        reason="newman is not installed: run 'npm install' in postman/",
    ),
]


def test_the_collection_passes() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTGATE_")}
    result = subprocess.run(
        [str(POSTMAN / "run.sh")],
        env={**env, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
