"""deploy/ansible/site.yml applied to this machine (``ansible_connection=local``) as an API,
worker and index host, installing into a temporary folder; then the units it wrote are started
as systemd would start them, and the API answers and a worker processes an upload.

What is real: the playbook's every task (apt finds the packages there, pip installs Archivist's
wheel, built from this checkout, with ``--no-index``, the settings file and the units are
written with the folder's paths in them). What stands in, and why:

- No network: the virtual environment is made by the test before the run, from this
  interpreter, with a ``.pth`` file putting the test environment's site-packages on its path
  (several GB of wheels, torch among them, are not rebuilt for a test). The playbook finds the
  environment there, as on a second run, and pip checks every dependency against what it sees
  and fails rather than download. Archivist itself comes from the wheel, not the checkout.
- No systemd in the test's container: ``archivist_service_manager=none`` makes the playbook
  write the units and start nothing; the test then runs each unit's ExecStartPre and ExecStart
  with its EnvironmentFile, as systemd would.
- The account: the test runs as root and makes no system user on this machine
  (``archivist_create_user=false``, ``archivist_user=root``).

Needs root (CI) and ansible-core (the test extras).
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml
from samples import text_pdf
from support import (
    REPO,
    default_redis_url,
    free_port,
    login,
    print_logs,
    stop_processes,
    upload,
    wait_for_http,
)

from archivist.core.settings import Settings

pytestmark = pytest.mark.slow

DOCUMENT = "query($id: ID!) { document(id: $id) { status } }"
SEARCH = "query($q: String!) { search(query: $q, first: 10) { totalCount } }"


def _unit(path: Path, instance: str = "") -> dict[str, list[str]]:
    """The ``[Service]`` lines of a unit file, with the specifiers this test needs resolved."""
    values: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            value = value.replace("%i", instance).replace("%H", socket.gethostname())
            values.setdefault(key, []).append(value)
    return values


def _environment_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines())
    return {key: value for key, value in (pair for pair in pairs if len(pair) == 2)
            if not key.startswith("#")}  # fmt: skip


def _test_environment_paths(venv: Path) -> list[str]:
    """The site-packages folders this interpreter imports its dependencies from (not this
    checkout: the folders of the strict editable install for mypy are left out)."""
    return [path for path in sys.path
            if Path(path).name == "site-packages" and Path(path).is_dir()
            and not Path(path).is_relative_to(venv)]  # fmt: skip


def test_playbook_installs_a_host_whose_api_answers(
    settings: Settings, make_user: Any, redis_client: Any, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("applies the playbook as root (CI runs the suite as root)")
    if importlib.util.find_spec("ansible") is None:
        pytest.skip("ansible-core is not installed (scripts/install test installs it)")
    packages = ("python3-venv", "python3-apt", "tesseract-ocr", "tesseract-ocr-eng", "xapian-tools")
    if subprocess.run(["dpkg", "-s", *packages], capture_output=True).returncode:
        # The playbook's apt tasks would install them, which needs the network.
        pytest.skip(f"needs the Debian packages {', '.join(packages)} installed")
    root = tmp_path / "root"
    venv = root / "opt" / "archivist"
    config = root / "etc" / "archivist"
    units = root / "etc" / "systemd" / "system"
    units.mkdir(parents=True)

    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(REPO)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = wheels.glob("archivist-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    # The setuptools that ensurepip bundles is older than the environment's dependencies
    # need (torch: >= 77); it gives way to the test environment's.
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "uninstall", "-y", "-q",
                    "setuptools"], check=True, capture_output=True)  # fmt: skip
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (purelib / "00_test_environment.pth").write_text(
        "\n".join(_test_environment_paths(venv)) + "\n"
    )

    port = free_port()
    inventory = {
        "all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                "ansible_become": False,  # already root; there may be no sudo
                "archivist_package": str(wheel),
                "archivist_pip_extra_args": f"--no-index --find-links {wheels}",
                "archivist_python": sys.executable,
                "archivist_venv": str(venv),
                "archivist_config_dir": str(config),
                "archivist_unit_dir": str(units),
                "archivist_user": "root",
                "archivist_group": "root",
                "archivist_create_user": False,
                "archivist_apt_update_cache": False,
                "archivist_service_manager": "none",
                "archivist_database_url": settings.database_url,
                "archivist_redis_url": default_redis_url(),
                "archivist_data_dir": str(settings.data_dir),
                "archivist_secret_key": "ansible-test-secret-0123456789",
                "archivist_api_host": "127.0.0.1",
                "archivist_api_port": port,
                "archivist_workers_per_host": 1,
                # Text-layer pages only: a Tesseract worker starts in a second.
                "archivist_extra_settings": {"ARCHIVIST_OCR_ENGINE": "tesseract",
                                             "ARCHIVIST_RECONCILE_INTERVAL": "2"},
            },
            "children": {group: {"hosts": {"localhost": {}}}
                         for group in ("api", "workers", "index")},
        }
    }  # fmt: skip
    inventory_path = tmp_path / "inventory.yml"
    inventory_path.write_text(yaml.safe_dump(inventory))
    (tmp_path / "home").mkdir()
    ansible_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ansible-remote"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_PIPELINING": "1",
    }
    played = subprocess.run(
        [sys.executable, "-m", "ansible.cli.playbook", "-i", str(inventory_path),
         str(REPO / "deploy" / "ansible" / "site.yml")],
        env=ansible_env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert played.returncode == 0, played.stdout[-6000:] + played.stderr[-3000:]
    assert "failed=0" in played.stdout
    print(played.stdout[played.stdout.rindex("PLAY RECAP") :])

    # What the playbook wrote.
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import archivist; print(archivist.__file__)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert Path(installed.stdout.strip()).is_relative_to(venv), installed.stdout  # the wheel
    assert {path.name for path in units.iterdir()} == {
        "archivist-api.service", "archivist-worker@.service", "archivist-index.service",
    }  # fmt: skip
    api_unit = _unit(units / "archivist-api.service")
    worker_unit = _unit(units / "archivist-worker@.service", "1")
    assert api_unit["EnvironmentFile"] == [str(config / "archivist.env")]
    assert api_unit["User"] == ["root"]
    settings_file = _environment_file(config / "archivist.env")
    assert settings_file["ARCHIVIST_PORT"] == str(port)
    assert "ARCHIVIST_XAPIAN_REMOTE" not in settings_file  # no index address: a local index
    assert oct((config / "archivist.env").stat().st_mode & 0o777) == "0o640"

    # Start the units as systemd would: their settings, ExecStartPre, then ExecStart.
    env = {"PATH": "/usr/bin:/bin", **settings_file}
    for command in api_unit["ExecStartPre"]:
        done = subprocess.run(shlex.split(command), env=env, capture_output=True, text=True,
                              timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = []
    for name, unit in (("api", api_unit), ("worker", worker_unit)):
        (command,) = unit["ExecStart"]
        assert command.startswith(str(venv / "bin" / "archivist") + " ")
        with (logs / f"{name}.log").open("wb") as log:
            processes.append(subprocess.Popen(shlex.split(command), env=env, stdout=log,
                                              stderr=subprocess.STDOUT))  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    client = httpx2.Client(base_url=base, timeout=60)
    try:
        wait_for_http(f"{base}/health", timeout=90, process=processes[0])
        make_user("alice")
        token = login(client, "alice")
        auth = {"Authorization": f"Bearer {token}"}
        pdf = text_pdf(tmp_path / "installed.pdf", [["installed", "by", "ansible"]] * 2)
        body = upload(client, token, "installed.pdf", pdf.read_bytes())
        document = body["data"]["uploadDocument"]["document"]
        assert document is not None, body

        def status() -> str:
            answer = client.post("/graphql", headers=auth, json={
                "query": DOCUMENT, "variables": {"id": document["id"]}}).json()  # fmt: skip
            value: str = answer["data"]["document"]["status"]
            return value

        deadline = time.monotonic() + 90
        while status() != "READY":
            assert time.monotonic() < deadline, "the installed worker did not process the upload"
            assert all(process.poll() is None for process in processes)
            time.sleep(0.5)
        answer = client.post("/graphql", headers=auth, json={
            "query": SEARCH, "variables": {"q": "ansible"}}).json()  # fmt: skip
        assert answer["data"]["search"]["totalCount"] == 2, answer
        assert f"Worker {socket.gethostname()}-1" in (logs / "worker.log").read_text()
    except BaseException:
        print_logs(logs)
        raise
    finally:
        client.close()
        stop_processes(processes)
