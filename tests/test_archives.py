"""Zip downloads keep the folder structure, stay private, and stream in bounded memory."""

from __future__ import annotations

import io
import os
import tracemalloc
import zipfile
from pathlib import Path

from starlette.testclient import TestClient
from support import gid, graphql, login, row_id

from archivist.core.archives import Entry, stream_zip
from archivist.core.db import database
from archivist.core.models import DocumentVersion
from archivist.core.storage import Storage


def test_a_large_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    big = tmp_path / "big.pdf"
    with big.open("wb") as handle:
        for _ in range(64):
            handle.write(os.urandom(1024 * 1024))  # 64 MiB that do not compress
    tracemalloc.start()
    size, chunks = 0, 0
    for chunk in stream_zip([Entry("A/", None), Entry("A/big.pdf", big)]):
        size += len(chunk)
        chunks += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert size > 64 * 1024 * 1024 and chunks > 32
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


def test_folder_zip_keeps_structure_and_is_private(client: TestClient, make_user, settings) -> None:
    from support import make_document

    user = make_user("alice")
    make_user("eve")
    token, stranger = login(client, "alice"), login(client, "eve")
    storage = Storage(settings.storage_dir)
    source = settings.data_dir / "one.pdf"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(b"%PDF-1.4 test file\n%%EOF\n")
    file_hash = storage.put(source)
    create = (
        "mutation($p: ID, $t: String!) { createFolder(parentId: $p, title: $t) { node { id } } }"
    )
    taxes = graphql(client, create, {"t": "Taxes"}, token=token)["data"]["createFolder"]["node"][
        "id"
    ]
    year = graphql(client, create, {"p": taxes, "t": "2024"}, token=token)["data"]["createFolder"][
        "node"
    ]["id"]
    for parent, title in ((taxes, "summary"), (year, "return"), (year, "return/part")):
        doc = make_document(row_id(parent), user.id, title.replace("/", "-"), ["text"])
        with database.connection_context():
            DocumentVersion.update(file_hash=file_hash).where(
                DocumentVersion.document == doc
            ).execute()
    response = client.get(f"/files/zip?ids={taxes}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == [
        "Taxes/", "Taxes/2024/", "Taxes/2024/return-part.pdf", "Taxes/2024/return.pdf",
        "Taxes/summary.pdf",
    ]  # fmt: skip
    assert archive.read("Taxes/summary.pdf") == source.read_bytes()
    refused = client.get(f"/files/zip?ids={taxes}", headers={"Authorization": f"Bearer {stranger}"})
    assert refused.status_code == 404
    assert client.get(f"/files/zip?ids={taxes}").status_code == 404


def test_zip_names_never_climb_out_of_the_unzip_folder(
    client: TestClient, make_user, settings
) -> None:
    from support import make_document

    from archivist.core.models import Node

    user = make_user("mallory")
    token = login(client, "mallory")
    storage = Storage(settings.storage_dir)
    source = settings.data_dir / "one.pdf"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(b"%PDF-1.4 test file\n%%EOF\n")
    file_hash = storage.put(source)
    with database.connection_context():
        home = Node.get((Node.owner_user == user.id) & (Node.special == Node.HOME))
        top = Node.create(kind=Node.FOLDER, title="..", parent=home.id, owner_user=user.id)
        inner = Node.create(kind=Node.FOLDER, title="..", parent=top.id, owner_user=user.id)
        dot = Node.create(kind=Node.FOLDER, title=" . ", parent=inner.id, owner_user=user.id)
    titles = ["..", "evil.sh", "/etc/passwd", "..\\..\\win", "C:", "..."]
    if not settings.database_url.startswith("postgresql"):
        titles.append("nul\x00byte")  # older rows may hold one; PostgreSQL cannot store it
    for parent, title in [(inner.id, t) for t in titles] + [(dot.id, "..")]:
        doc = make_document(parent, user.id, title, ["text"])
        with database.connection_context():
            DocumentVersion.update(file_hash=file_hash).where(
                DocumentVersion.document == doc
            ).execute()
    response = client.get(
        f"/files/zip?ids={gid('Folder', top.id)}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert len(names) == 3 + len(titles) + 1
    for name in names:
        components = name.removesuffix("/").split("/")
        assert not name.startswith("/") and "\\" not in name and "\x00" not in name, name
        assert all(part not in ("", ".", "..") for part in components), name
        assert all(part.strip(" .") for part in components), name
        assert ":" not in name, name
    assert "__/__/evil.sh.pdf" in names


def test_stream_zip_refuses_an_unsafe_name(tmp_path: Path) -> None:
    import pytest

    for name in ("../x.pdf", "a/../../x.pdf", "/abs.pdf", "a\\b.pdf", "a\x00.pdf", "./a", "C:x"):
        with pytest.raises(ValueError, match="unsafe zip entry name"):
            list(stream_zip([Entry(name, None)]))
