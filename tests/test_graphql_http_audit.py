"""graphql-http's GraphQL-over-HTTP server audit against a real ``archivist serve``.

The audit is the npm package graphql-http (tests/js, installed by ``scripts/install test``
with ``npm ci``); it needs node. Every audit passes: no errors (MUST), no warnings (SHOULD),
and no notices (MAY) either.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

JS = Path(__file__).parent / "js"


def _node() -> str:
    node = shutil.which("node")
    installed = (JS / "node_modules" / "graphql-http").is_dir()
    if node is None or not installed:
        why = "node is not installed" if node is None else "tests/js has no node_modules"
        if os.environ.get("ARCHIVIST_REQUIRE_NODE") == "1":
            pytest.fail(f"{why} (ARCHIVIST_REQUIRE_NODE=1): apt-get install nodejs npm, then "
                        "scripts/install test")  # fmt: skip
        pytest.skip(f"{why}: apt-get install nodejs npm, then scripts/install test")
    return node


def test_graphql_over_http_audit_passes(live_server: str) -> None:
    node = _node()
    result = subprocess.run(
        [node, str(JS / "audit.mjs"), f"{live_server}/graphql"],
        capture_output=True, text=True, timeout=120, cwd=JS,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    audits = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(audits) > 50, result.stdout
    failed = [f"{a['status']} {a['id']} {a['name']}: {a['reason']}" for a in audits
              if a["status"] != "ok"]  # fmt: skip
    assert failed == [], "\n".join(failed)
