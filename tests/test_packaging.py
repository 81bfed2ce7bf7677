"""Guards for the import recipe: our graphql/ folder never shadows graphql-core."""

from __future__ import annotations

import configparser
import subprocess
import sys
import sysconfig
from pathlib import Path

import graphql
import pytest
from support import REPO

import archivist


def test_import_graphql_finds_graphql_core() -> None:
    site_packages = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert Path(graphql.__file__).resolve().is_relative_to(site_packages)
    assert hasattr(graphql, "GraphQLSchema")


def test_graphql_core_wins_from_the_repository_root() -> None:
    """`python -m pytest` and uvicorn put the current directory first on sys.path."""
    code = "import graphql.type, archivist.graphql.app, sys; print(graphql.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert "site-packages" in out


def test_our_graphql_folder_is_not_a_regular_package() -> None:
    assert not (REPO / "graphql" / "__init__.py").exists()


def test_archivist_maps_the_repository_root() -> None:
    assert Path(archivist.__file__).resolve().parent == REPO


def _code_folders() -> set[str]:
    skip = {"tests", "scripts", "build", "data", "node_modules"}
    folders = set()
    for path in REPO.rglob("*.py"):
        relative = path.parent.relative_to(REPO)
        parts = relative.parts
        if parts and (parts[0] in skip or parts[0].startswith(".") or "__pycache__" in parts):
            continue
        folders.add(".".join(("archivist", *parts)))
    return folders


# Folders of files served as they are (no Python), shipped as packages of package data.
DATA_FOLDERS = {"archivist.graphql.ui"}


def _setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    return config


def test_every_code_folder_is_listed_in_setup_cfg() -> None:
    config = _setup_cfg()
    listed = {line.strip() for line in config["options"]["packages"].splitlines() if line.strip()}
    assert _code_folders() | DATA_FOLDERS == listed
    assert set(config["options.package_data"]) >= DATA_FOLDERS


@pytest.mark.slow
def test_the_wheel_carries_the_schema_and_the_progress_page(tmp_path: Path) -> None:
    """An installed Archivist serves its schema and /ui/ from the wheel's own files."""
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "--wheel-dir", str(tmp_path), str(REPO)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("archivist-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "archivist/schema.graphql" in names
    page_files = {
        f"archivist/graphql/ui/{path.name}" for path in (REPO / "graphql" / "ui").iterdir()
    }
    assert {"archivist/graphql/ui/index.html", "archivist/graphql/ui/progress.js"} <= page_files
    assert page_files <= names, page_files - names
