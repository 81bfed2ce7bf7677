"""The import's progress on a terminal: a bar per file and one for the whole import.

Page progress comes from the progress events the workers publish (the ones the GraphQL
subscriptions relay), with the database read every few seconds as well, so that an event
missed (or a Redis without workers) cannot leave the import waiting for nothing. Where the
output is not a terminal, each file gets a line when its state changes instead of bars.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any, TextIO

from redis import Redis
from redis.exceptions import RedisError

from archivist.core.ingestion.importer import (
    DUPLICATE,
    IMPORTED,
    ImportProgress,
    ImportReport,
    Outcome,
    SourceFile,
)
from archivist.core.models import Document, DocumentVersion, Page
from archivist.core.progress import FAILED, READY, ProgressEvent, channel

BAR = 20
MAX_FILE_LINES = 8
REDRAW_SECONDS = 0.1
POLL_SECONDS = 2.0


def bar(done: int, total: int, width: int = BAR) -> str:
    filled = width if total <= 0 else min(width, width * done // total)
    return "[" + "#" * filled + "-" * (width - filled) + "]"


@dataclass
class FileState:
    label: str
    size: int = 0
    uploaded: int = 0
    pages_done: int = 0
    pages_total: int = 0
    status: str = "uploading"
    document_id: int | None = None


class ProgressBars(ImportProgress):
    """Draws the import on ``out``; with ``wait``, files stay until their pages are done."""

    def __init__(self, out: TextIO, *, wait: bool, terminal: bool | None = None) -> None:
        self.out = out
        self.wait = wait
        self.terminal = out.isatty() if terminal is None else terminal
        self.total_files = 0
        self.finished_files = 0
        self.duplicates = 0
        self.refused = 0
        self.active: dict[str, FileState] = {}
        self.documents: dict[int, FileState] = {}
        self._drawn_lines = 0
        self._last_draw = 0.0
        self.listener: EventListener | None = None

    # What the import reports

    def planned(self, files: list[SourceFile]) -> None:
        self.total_files = len(files)
        self._draw(force=True)

    def uploading(self, source: SourceFile, size: int) -> None:
        self.active[source.label] = FileState(source.label, size)
        self._draw()

    def uploaded_bytes(self, source: SourceFile, done: int) -> None:
        state = self.active.get(source.label)
        if state is not None:
            state.uploaded = done
            self._draw()

    def finished(self, outcome: Outcome) -> None:
        label = outcome.source.label
        state = self.active.pop(label, None) or FileState(label)
        self.finished_files += 1
        if outcome.status == IMPORTED and outcome.document_id is not None:
            state.status, state.document_id = "processing", outcome.document_id
            state.pages_total, state.uploaded = outcome.pages, state.size
            self.documents[outcome.document_id] = state
            if self.wait:
                self.active[label] = state
            self._say(f"imported  {label}: document {outcome.document_id}, {outcome.pages} page(s)")
        elif outcome.status == DUPLICATE:
            self.duplicates += 1
            self._say(f"duplicate {label}: already document {outcome.document_id}, skipped")
        else:
            self.refused += 1
            self._say(f"refused   {label}: {outcome.code}: {outcome.message}")
        if self.listener is not None:
            for event in self.listener.events():
                self.event(event)
        self._draw(force=True)

    # What the workers report

    def event(self, event: ProgressEvent) -> None:
        state = self.documents.get(event.document_id)
        if state is None:
            return
        state.pages_done, state.pages_total = event.pages_done, event.pages_total
        if event.status in (READY, FAILED):
            self._document_ended(state, event.status, event.message)
        self._draw()

    def _document_ended(self, state: FileState, status: str, message: str | None) -> None:
        if state.status in (READY, FAILED):
            return
        state.status = status
        if status == READY:
            state.pages_done = state.pages_total
        self.active.pop(state.label, None)
        reason = f": {message}" if message else ""
        self._say(f"{status:<9} {state.label}: document {state.document_id}{reason}")

    def unfinished(self) -> list[int]:
        return [d for d, s in self.documents.items() if s.status not in (READY, FAILED)]

    def failed_documents(self) -> list[FileState]:
        return [state for state in self.documents.values() if state.status == FAILED]

    def read_database(self) -> None:
        """Catch up from the database (the source of truth) on unfinished documents."""
        ids = self.unfinished()
        if not ids:
            return
        for row in Document.select().where(Document.node.in_(ids)):
            state = self.documents[row.node_id]
            if row.status in (Document.READY, Document.FAILED):
                self._document_ended(state, str(row.status), row.error)
                continue
            first = DocumentVersion.get_or_none(
                (DocumentVersion.document == row.node_id) & (DocumentVersion.number == 1)
            )
            if first is not None:
                state.pages_done = (
                    Page.select()
                    .where((Page.version == first.id) & Page.status.in_([Page.DONE, Page.FAILED]))
                    .count()
                )
        self._draw(force=True)

    # Drawing

    def pages(self) -> tuple[int, int]:
        states = self.documents.values()
        return sum(s.pages_done for s in states), sum(s.pages_total for s in states)

    def _overall(self) -> str:
        done, total = self.pages()
        line = (
            f"{bar(self.finished_files, self.total_files)} "
            f"{self.finished_files}/{self.total_files} files"
        )
        if self.wait:
            line += f", pages {done}/{total} done"
        if self.duplicates:
            line += f", {self.duplicates} duplicate(s)"
        if self.refused:
            line += f", {self.refused} refused"
        return line

    def _file_line(self, state: FileState) -> str:
        if state.status == "uploading":
            return f"  {bar(state.uploaded, state.size)} uploading {state.label}"
        return (
            f"  {bar(state.pages_done, state.pages_total)} "
            f"{state.pages_done}/{state.pages_total} pages {state.label}"
        )

    def _draw(self, force: bool = False) -> None:
        if not self.terminal:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < REDRAW_SECONDS:
            return
        self._last_draw = now
        lines = [self._overall()]
        lines += [self._file_line(s) for s in list(self.active.values())[:MAX_FILE_LINES]]
        if len(self.active) > MAX_FILE_LINES:
            lines.append(f"  ... and {len(self.active) - MAX_FILE_LINES} more")
        self._clear()
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()
        self._drawn_lines = len(lines)

    def _clear(self) -> None:
        if self._drawn_lines:
            # Up to the first line drawn, then erase to the end of the screen.
            self.out.write(f"\x1b[{self._drawn_lines}F\x1b[J")
            self._drawn_lines = 0

    def _say(self, line: str) -> None:
        """A line that stays (above the bars on a terminal)."""
        self._clear()
        self.out.write(line + "\n")
        self.out.flush()


class EventListener:
    """Progress events from Redis, subscribed before the first upload so none is missed."""

    def __init__(self, redis: Redis | None) -> None:
        self._pubsub: Any = None
        if redis is not None:
            try:
                self._pubsub = redis.pubsub(ignore_subscribe_messages=True)
                self._pubsub.subscribe(channel(redis))
            except RedisError:
                self._pubsub = None

    def events(self, timeout: float = 0.0) -> list[ProgressEvent]:
        """The events that arrived (waiting up to ``timeout`` for the first)."""
        if self._pubsub is None:
            time.sleep(timeout)
            return []
        found: list[ProgressEvent] = []
        try:
            message = self._pubsub.get_message(timeout=timeout)
            while message is not None:
                if message.get("type") == "message":
                    found.append(ProgressEvent.from_json(message["data"]))
                message = self._pubsub.get_message(timeout=0.0)
        except (RedisError, ValueError, TypeError):
            pass  # the database poll catches up
        return found

    def close(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(RedisError):
                self._pubsub.close()


def wait_for_documents(bars: ProgressBars, listener: EventListener) -> None:
    """Until every imported document is ready or failed (Ctrl-C stops waiting)."""
    last_poll = 0.0
    while bars.unfinished():
        for event in listener.events(timeout=0.5):
            bars.event(event)
        if time.monotonic() - last_poll >= POLL_SECONDS:
            bars.read_database()
            last_poll = time.monotonic()


def summary(report: ImportReport, bars: ProgressBars) -> list[str]:
    """The lines printed when the import is over."""
    imported = [o for o in report.outcomes if o.status == IMPORTED]
    pages = sum(outcome.pages for outcome in imported)
    lines = [
        f"Imported {len(imported)} file(s) ({pages} page(s)), skipped "
        f"{report.count(DUPLICATE)} duplicate(s), refused {len(report.refused)}."
    ]
    for outcome in report.refused:
        lines.append(f"  refused {outcome.source.path}: {outcome.code}: {outcome.message}")
    if bars.wait:
        failed = bars.failed_documents()
        done, total = bars.pages()
        lines.append(f"Processed {done}/{total} page(s); {len(failed)} document(s) failed.")
        lines += [f"  failed {state.label}: document {state.document_id}" for state in failed]
    return lines
