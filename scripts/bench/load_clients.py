"""The load test's HTTP clients: each request, and the answer it must get.

A :class:`Client` is one simulated person (over HTTP) who loops until told to stop, picking
operations by weight; every answer is checked against what that person knows (their own
titles, words, page texts and file bytes; another user's things must stay invisible).
``load_subscriptions.py`` does the same over websockets.

Everything that is not the expected answer is counted in :class:`Stats` by kind: ``5xx``,
``http NNN``, ``graphql CODE`` (an error on a request that must succeed), ``wrong answer``,
``transport`` (no answer: connection refused or reset, or no answer within ``TIMEOUT`` s).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
from load_corpus import UserFacts, World, upload_pdf

TIMEOUT = 60.0  # seconds: far beyond any sane answer, so only a stuck API reaches it
EXAMPLES = 12  # failures kept with their details, per kind

SEARCH = """query($q: String!) { search(query: $q, first: 50) {
  totalCount edges { node { pageNumber document { id title } } } } }"""
CHILDREN = """query($id: ID!) { node(id: $id) { ... on Folder {
  children(first: 100) { totalCount edges { node { id title } } } } } }"""
DOCUMENT = """query($id: ID!) { document(id: $id) { id title status pageCount
  pages { edges { node { id number text } } } } }"""
FOREIGN = """query($d: ID!, $f: ID!) { document(id: $d) { id title }
  node(id: $f) { id ... on Item { title } } }"""
UPLOAD = """mutation($file: Upload!, $title: String, $mode: OcrMode) {
  uploadDocument(file: $file, title: $title, ocrMode: $mode) {
    document { id title ... on Document { status pageCount } } errors { code message } } }"""


@dataclass
class Stats:
    """Latencies per operation and failures by kind, shared by all clients."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, operation)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    events: Counter[str] = field(default_factory=Counter)  # subscription events, by kind
    unknown_event_ids: set[tuple[str, str]] = field(default_factory=set)  # (user, document)
    requests: int = 0

    def timed(self, operation: str, seconds: float) -> None:
        self.requests += 1
        self.latencies[operation].append(seconds)

    def fail(self, kind: str, operation: str, detail: str) -> None:
        self.failures[kind, operation] += 1
        if len(self.examples[kind]) < EXAMPLES:
            self.examples[kind].append(f"{operation}: {detail[:300]}")

    def check(self, ok: bool, operation: str, detail: str) -> bool:
        if not ok:
            self.fail("wrong answer", operation, detail)
        return ok


@dataclass
class Limits:
    deadline: float  # time.monotonic() at which every client stops
    max_requests: int
    max_uploads: int
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def over(self, stats: Stats) -> bool:
        return (
            self.stop.is_set()
            or time.monotonic() >= self.deadline
            or stats.requests >= self.max_requests
        )


def _words(text: str) -> str:
    return " ".join(text.split())


class Client:
    """One person sending HTTP requests in a loop; see the module docstring."""

    WEIGHTS = {
        "search-own": 20, "search-foreign": 10, "list-folder": 12, "read-document": 12,
        "read-foreign": 6, "preview": 12, "preview-foreign": 4, "download": 4, "upload": 5,
    }  # fmt: skip

    def __init__(
        self, n: int, base: str, world: World, user: UserFacts, stats: Stats, only: list[str]
    ) -> None:
        self.weights = {name: w for name, w in self.WEIGHTS.items() if not only or name in only}
        self.random = random.Random(n)
        self.base = base
        self.world = world
        self.user = user
        self.stats = stats
        self.auth = {"Authorization": f"Bearer {user.token}"}

    async def run(self, limits: Limits) -> None:
        operations = {
            "search-own": self.search_own, "search-foreign": self.search_foreign,
            "list-folder": self.list_folder, "read-document": self.read_document,
            "read-foreign": self.read_foreign, "preview": self.preview,
            "preview-foreign": self.preview_foreign, "download": self.download,
            "upload": self.upload,
        }  # fmt: skip
        names, weights = list(self.weights), list(self.weights.values())
        limits_http = httpx.Limits(max_connections=2, max_keepalive_connections=2)
        async with httpx.AsyncClient(
            base_url=self.base, timeout=TIMEOUT, trust_env=False, limits=limits_http
        ) as self.http:
            while not limits.over(self.stats):
                if "upload" in names and self.world_uploads() >= limits.max_uploads:
                    del weights[names.index("upload")]  # enough uploads: the rest goes on
                    names.remove("upload")
                if not names:
                    break
                await operations[self.random.choices(names, weights)[0]]()

    def world_uploads(self) -> int:
        return sum(user.uploads_started for user in self.world.users)

    async def send(self, operation: str, method: str, url: str, **kwargs: Any) -> Any:
        """One request, timed; returns the response, or None after counting a failure."""
        start = time.perf_counter()
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            self.stats.fail("transport", operation, f"{type(error).__name__}: {error}")
            return None
        self.stats.timed(operation, time.perf_counter() - start)
        if response.status_code >= 500:
            self.stats.fail("5xx", operation, f"{response.status_code} {response.text[:200]}")
            return None
        return response

    async def graphql(self, operation: str, query: str, variables: dict[str, Any]) -> Any:
        """POST one operation that must succeed; returns its ``data`` or None (counted)."""
        body = {"query": query, "variables": variables}
        response = await self.send(operation, "POST", "/graphql", json=body, headers=self.auth)
        return self.data_of(operation, response)

    def data_of(self, operation: str, response: Any) -> Any:
        if response is None:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        # A refused request (400, 413) still says why in its errors.
        if response.status_code != 200 and not (isinstance(body, dict) and body.get("errors")):
            self.stats.fail(f"http {response.status_code}", operation, response.text[:200])
            return None
        if not isinstance(body, dict):
            self.stats.fail("wrong answer", operation, f"not JSON: {response.text[:200]}")
            return None
        for error in body.get("errors") or []:
            code = (error.get("extensions") or {}).get("code", "NO_CODE")
            self.stats.fail(f"graphql {code}", operation, error.get("message", ""))
        return None if body.get("errors") else body.get("data")

    async def search_own(self) -> None:
        choices = self.user.words_with_pages()
        every_page = choices[0][1]  # the shared word is on every seed page, of every user
        word, pages = self.random.choice([*choices, (self.world.shared_word, every_page)])
        data = await self.graphql("search-own", SEARCH, {"q": word})
        if data is None:
            return
        hits = [edge["node"] for edge in data["search"]["edges"]]
        found = {(h["document"]["id"], h["pageNumber"], h["document"]["title"]) for h in hits}
        expected = {(document.id, number, document.title) for document, number in pages}
        self.stats.check(
            found == expected and data["search"]["totalCount"] == len(expected),
            "search-own",
            f"{self.user.username} {word!r}: expected {sorted(expected)}, "
            f"got totalCount {data['search']['totalCount']} and {sorted(found)}",
        )

    async def search_foreign(self) -> None:
        other = self.random.choice(self.world.others(self.user))
        word, _pages = self.random.choice(other.words_with_pages())
        data = await self.graphql("search-foreign", SEARCH, {"q": word})
        if data is not None:
            self.stats.check(
                data["search"]["totalCount"] == 0 and data["search"]["edges"] == [],
                "search-foreign",
                f"{self.user.username} searched {other.username}'s {word!r}: {data['search']}",
            )

    async def list_folder(self) -> None:
        if self.random.random() < 0.5:
            data = await self.graphql("list-folder", CHILDREN, {"id": self.user.seeds_folder_id})
            if data is None:
                return
            children = data["node"]["children"]
            found = {(e["node"]["id"], e["node"]["title"]) for e in children["edges"]}
            expected = {(d.id, d.title) for d in self.user.seeds}
            self.stats.check(
                found == expected and children["totalCount"] == len(expected),
                "list-folder", f"{self.user.username} seeds: expected {expected}, got {children}",
            )  # fmt: skip
            return
        confirmed = self.user.uploads_confirmed  # before the request: those must all be there
        data = await self.graphql("list-folder", CHILDREN, {"id": self.user.inbox_id})
        if data is None:
            return
        children = data["node"]["children"]
        titles = {e["node"]["title"] for e in children["edges"]}
        self.stats.check(
            titles <= self.user.upload_titles
            and confirmed <= children["totalCount"] <= self.user.uploads_started,
            "list-folder",
            f"{self.user.username} inbox: {children['totalCount']} children, expected "
            f"{confirmed}..{self.user.uploads_started}; not theirs: "
            f"{sorted(titles - self.user.upload_titles)[:5]}",
        )

    async def read_document(self) -> None:
        document = self.random.choice(self.user.seeds)
        data = await self.graphql("read-document", DOCUMENT, {"id": document.id})
        if data is None:
            return
        got = data["document"]
        expected = {
            "id": document.id, "title": document.title, "status": "READY",
            "pageCount": len(document.pages),
            "pages": [(p.id, p.number, p.text) for p in document.pages],
        }  # fmt: skip
        if got is not None:
            pages = [e["node"] for e in got["pages"]["edges"]]
            got = {**got, "pages": [(p["id"], p["number"], _words(p["text"])) for p in pages]}
        self.stats.check(got == expected, "read-document", f"expected {expected}, got {got}")

    async def read_foreign(self) -> None:
        other = self.random.choice(self.world.others(self.user))
        document = self.random.choice(other.seeds)
        variables = {"d": document.id, "f": other.seeds_folder_id}
        data = await self.graphql("read-foreign", FOREIGN, variables)
        if data is not None:
            self.stats.check(
                data == {"document": None, "node": None},
                "read-foreign", f"{self.user.username} read {other.username}'s: {data}",
            )  # fmt: skip

    async def preview(self) -> None:
        page = self.random.choice(self.random.choice(self.user.seeds).pages)
        response = await self.send("preview", "GET", page.preview_url)  # signed: no header
        if response is not None:
            self.stats.check(
                response.status_code == 200
                and response.headers.get("content-type") == "image/jpeg"
                and response.content[:3] == b"\xff\xd8\xff",
                "preview",
                f"page {page.id}: {response.status_code} {response.headers.get('content-type')}",
            )

    async def preview_foreign(self) -> None:
        other = self.random.choice(self.world.others(self.user))
        page = self.random.choice(self.random.choice(other.seeds).pages)
        url = f"/files/previews/{page.id}/thumbnail"
        response = await self.send("preview-foreign", "GET", url, headers=self.auth)
        if response is not None:
            self.stats.check(
                response.status_code == 404,
                "preview-foreign",
                f"{self.user.username} got {other.username}'s page {page.id}: "
                f"{response.status_code} {response.headers.get('content-type')}",
            )

    async def download(self) -> None:
        document = self.random.choice(self.user.seeds)
        response = await self.send("download", "GET", document.original_url)
        if response is not None:
            self.stats.check(
                response.status_code == 200 and response.content == document.pdf,
                "download",
                f"{document.title}: {response.status_code}, {len(response.content)} bytes",
            )

    async def upload(self) -> None:
        user = self.user
        user.uploads_started += 1
        title = f"{user.username} upload {user.uploads_started}"
        user.upload_titles.add(title)
        mode = self.random.choice(["AUTO", "OFF"])
        variables = {"file": None, "title": title, "mode": mode}
        operations = json.dumps({"query": UPLOAD, "variables": variables})
        response = await self.send(
            "upload", "POST", "/graphql", headers=self.auth,
            data={"operations": operations, "map": json.dumps({"0": ["variables.file"]})},
            files={"0": ("load.pdf", upload_pdf(self.world.vocabulary), "application/pdf")},
        )  # fmt: skip
        data = self.data_of("upload", response)
        if data is None:
            return
        payload = data["uploadDocument"]
        document = payload["document"] or {}
        if self.stats.check(
            payload["errors"] == []
            and document.get("title") == title
            and document.get("pageCount") == 1,
            "upload",
            f"{title}: {payload}",
        ):
            user.document_ids.add(document["id"])
            user.uploads_confirmed += 1
