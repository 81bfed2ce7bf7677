"""``graphql-schema-linter`` (npm) finds schema.graphql described throughout and Relay-shaped.

The rules are in tests/schema-lint/package.json; ``scripts/install test`` installs the linter
there (``npm ci``) wherever npm is.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from support import REPO

LINT_DIR = REPO / "tests" / "schema-lint"
LINTER = LINT_DIR / "node_modules" / "graphql-schema-linter" / "lib" / "cli.js"


def test_the_schema_passes_the_description_and_relay_rules() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed here, so graphql-schema-linter cannot run")
    assert LINTER.exists(), "the linter is not installed: run scripts/install test"
    result = subprocess.run(
        [node, str(LINTER), "--config-directory", str(LINT_DIR), "--format", "compact",
         str(REPO / "schema.graphql")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
