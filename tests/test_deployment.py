"""docker-compose.yml and the package build: what a deployment is made of."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from support import REPO


def compose() -> dict:
    data: dict = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


def test_compose_has_the_agreed_services() -> None:
    services = compose()["services"]
    assert {"api", "worker", "redis", "postgres", "migrate"} <= set(services)
    assert services["api"]["command"][:2] == ["archivist", "serve"]
    assert services["worker"]["command"] == ["archivist", "worker"]


def test_workers_scale_and_share_files_with_the_api() -> None:
    services = compose()["services"]
    worker, api = services["worker"], services["api"]
    # Scalable: no fixed name, no host port, a replica count.
    assert "container_name" not in worker and "ports" not in worker
    assert worker["deploy"]["replicas"] >= 2
    assert "archivist-data:/data" in worker["volumes"] and "archivist-data:/data" in api["volumes"]
    for service in (api, worker):
        env = service["environment"]
        assert env["ARCHIVIST_DATABASE_URL"].startswith("postgresql://")
        assert env["ARCHIVIST_REDIS_URL"] == "redis://redis:6379/0"
        assert env["ARCHIVIST_DATA_DIR"] == "/data"


def test_compose_config_validates_when_the_plugin_is_there() -> None:
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run([docker, "compose", "version"], capture_output=True).returncode
    ):
        pytest.skip("docker compose plugin not installed; the YAML was checked by the tests above")
    result = subprocess.run(
        [docker, "compose", "-f", str(REPO / "docker-compose.yml"), "config", "--quiet"],
        env={"ARCHIVIST_SECRET_KEY": "x" * 32, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_wheel_maps_the_folders_under_archivist(tmp_path: Path) -> None:
    """A regular (non-editable) install, as in the image, has every module and the schema."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(REPO)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("archivist-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "archivist/__init__.py",
        "archivist/schema.graphql",
        "archivist/core/cli.py",
        "archivist/core/migrations/m0001_initial.py",
        "archivist/graphql/app.py",
        "archivist/jobs/worker.py",
    ):
        assert expected in names
    assert not any(name.startswith(("archivist/tests/", "archivist/scripts/")) for name in names)
    assert not any(name.startswith("graphql/") for name in names)
