"""The load test (``scripts/bench/load.py``) for 15 seconds: the API must pass it.

A real Uvicorn API and two real workers on SQLite, 64 concurrent clients and 50 open
subscriptions, every answer checked by the script against what its client knows. Asserted:
no 5xx, no crash, no wrong answer (nor an error or no answer to a request that must succeed),
and the API's resident memory grows less than 10 % over the 15 s. Memory is measured from the
end of a warm-up before them (10 s at least, and until every kind of request has been answered
5 times, whatever the machine's speed), so start-up allocations and filling caches do not count.

It runs once per CI run, on SQLite (the load test's own database, whatever
``ARCHIVIST_TEST_DATABASE_URL`` says), with the test Redis (``support.default_redis_url()``,
flushed by the script).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from support import REPO, default_redis_url

pytestmark = pytest.mark.slow

SCRIPT = REPO / "scripts" / "bench" / "load.py"


@pytest.mark.skipif(
    not (os.environ.get("ARCHIVIST_TEST_DATABASE_URL") or "sqlite").startswith("sqlite"),
    reason="the load test runs once per CI run, in the SQLite pass",
)
@pytest.mark.timeout(600)
def test_api_under_load_for_15_seconds() -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ARCHIVIST_BENCH_REDIS_URL": default_redis_url(),
    }
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--duration", "15", "--json"],
        env=env, capture_output=True, text=True, timeout=540,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 2: the set-up failed
    summary = json.loads(result.stdout)
    shown = json.dumps(summary, indent=1)
    print(shown)
    assert summary["api_alive"], shown
    assert summary["failures"] == {}, shown
    assert summary["rss_growth_percent"] is not None, shown
    assert summary["rss_growth_percent"] < 10, shown
    # The run was a load at all: every operation ran, and the subscriptions got events.
    assert set(summary["operations"]) >= {"search-own", "upload", "preview", "subscribe"}, shown
    assert summary["subscription_events"].get("feed", 0) > 0, shown
    assert result.returncode == 0, shown
