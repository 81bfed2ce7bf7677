"""Guards for the import recipe: our graphql/ folder never shadows graphql-core."""

from __future__ import annotations

import configparser
import subprocess
import sys
import sysconfig
from pathlib import Path

import graphql
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


def test_every_code_folder_is_listed_in_setup_cfg() -> None:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    listed = {line.strip() for line in config["options"]["packages"].splitlines() if line.strip()}
    assert _code_folders() == listed
