"""Fair scheduling of page jobs between owners: one user's 300 pages do not hold back the rest.

The pages queue is FIFO, so fairness is decided by what goes into it. A pending page is either
*queued* (it has a job id: a job for it is in the queue or running) or *waiting its turn* (no
job id yet). Each owner (a user, or a group for group folders) has at most a *window* of pages
queued or in progress at a time: as many as there are workers serving pages, and at least
:data:`MIN_WINDOW`, so one owner alone still keeps every worker busy. When a page job ends it
queues its owner's next waiting page, which joins the back of the queue, behind whatever other
owners queued meanwhile. Owners are therefore served in turn, and a 1-page document waits for
at most about one window of pages of each other busy owner, however long their documents are.

Nothing is lost if a job dies between its page and the next turn: the reconciler calls
:func:`queue_waiting_pages` for every owner with waiting pages. Two feeders at once may queue a
page or two beyond the window; a page is never queued twice (the job id is set only where none
is).
"""

from __future__ import annotations

from dataclasses import dataclass

from peewee import Expression, ModelSelect
from redis import Redis

from archivist.core.models import DocumentVersion, Node, Page
from archivist.core.queue import PAGES_QUEUE, enqueue_pages, new_page_job_id
from archivist.core.settings import Settings

MIN_WINDOW = 2


@dataclass(frozen=True)
class Owner:
    """Whose turn it is: a user or a group (the owner of the document's node)."""

    user_id: int | None
    group_id: int | None

    @classmethod
    def of_document(cls, document_id: int) -> Owner | None:
        node = Node.get_or_none(Node.id == document_id)
        return None if node is None else cls(node.owner_user_id, node.owner_group_id)

    def nodes(self) -> Expression:
        """A condition on :class:`Node` selecting this owner's nodes."""
        user = (
            Node.owner_user.is_null() if self.user_id is None else (Node.owner_user == self.user_id)
        )
        group = (
            Node.owner_group.is_null()
            if self.group_id is None
            else (Node.owner_group == self.group_id)
        )
        combined: Expression = user & group
        return combined


def window(redis: Redis) -> int:
    """How many pages one owner may have queued or in progress: one per worker, at least 2."""
    from rq import Queue, Worker

    return max(MIN_WINDOW, Worker.count(connection=redis, queue=Queue(PAGES_QUEUE, redis)))


def _pages_of(owner: Owner, condition: Expression) -> ModelSelect[Page]:
    return (
        Page.select(Page.id)
        .join(DocumentVersion)
        .join(Node, on=(DocumentVersion.document == Node.id))
        .where(owner.nodes() & condition)
    )


def queue_waiting_pages(redis: Redis, settings: Settings, owner: Owner) -> int:
    """Queue this owner's oldest waiting pages until their window is full; returns how many.

    Raises ``RedisError`` when Redis cannot be reached (the pages keep waiting; the reconciler
    queues them later).
    """
    in_flight = _pages_of(
        owner, Page.status.in_((Page.PENDING, Page.PROCESSING)) & Page.job_id.is_null(False)
    ).count()
    free = window(redis) - in_flight
    if free <= 0:
        return 0
    # Read to the end before writing: on SQLite an UPDATE made while this SELECT's cursor is
    # still open would have to upgrade its read snapshot, which fails at once with "database
    # is locked" when another connection wrote meanwhile (seen under the load test).
    waiting = list(
        _pages_of(owner, (Page.status == Page.PENDING) & Page.job_id.is_null())
        .order_by(Page.id)
        .limit(free)
    )
    jobs = []
    for page in waiting:
        job_id = new_page_job_id()
        # Conditional: a page another feeder has just queued is not queued again.
        if Page.update(job_id=job_id).where((Page.id == page.id) & Page.job_id.is_null()).execute():
            jobs.append((page.id, job_id))
    if jobs:
        enqueue_pages(redis, settings, jobs)
    return len(jobs)


def queue_next_pages(redis: Redis, settings: Settings, document_id: int) -> int:
    """After a page of ``document_id`` ended: give its owner's next waiting pages their turn."""
    owner = Owner.of_document(document_id)
    return 0 if owner is None else queue_waiting_pages(redis, settings, owner)


def owners_with_waiting_pages() -> list[Owner]:
    """Every owner who has pages waiting their turn (for the reconciler)."""
    rows = (
        Node.select(Node.owner_user, Node.owner_group)
        .join(DocumentVersion, on=(DocumentVersion.document == Node.id))
        .join(Page)
        .where((Page.status == Page.PENDING) & Page.job_id.is_null())
        .distinct()
    )
    return [Owner(row.owner_user_id, row.owner_group_id) for row in rows]


@dataclass(frozen=True)
class QueuePosition:
    """Where a processing document stands: counts of pages only, never whose they are."""

    pages_ahead: int
    pages_in_progress: int
    pages_queued: int
    pages_waiting: int


def queue_position(redis: Redis, document_id: int) -> QueuePosition | None:
    """Where the next page of ``document_id`` to be started stands; None when it has none.

    ``pages_ahead`` is the number of page jobs before it in the pages queue when one of its
    pages is queued (RQ's ``LPOS``). When all its pending pages wait their turn (its owner's
    window is full), it is the whole queue plus the owner's own pages waiting before it: its
    next page joins the back of the queue when one of the owner's pages ends, so this is a
    lower bound (other owners' pages join in turn meanwhile). Raises ``RedisError``.
    """
    from rq import Queue

    from archivist.core.processing import current_version

    version = current_version(document_id)
    if version is None:
        return None
    rows = list(
        Page.select(Page.id, Page.status, Page.job_id)
        .where((Page.version == version.id) & Page.status.in_((Page.PENDING, Page.PROCESSING)))
        .order_by(Page.id)
    )
    if not rows:
        return None
    in_progress = sum(1 for row in rows if row.status == Page.PROCESSING)
    queued = [row.job_id for row in rows if row.status == Page.PENDING and row.job_id]
    waiting = [row.id for row in rows if row.status == Page.PENDING and not row.job_id]
    key = Queue(PAGES_QUEUE, connection=redis).key
    with redis.pipeline(transaction=False) as pipe:
        for job_id in queued[:50]:  # a window's worth, with room for a feeder's race
            pipe.lpos(key, job_id)
        pipe.llen(key)
        *positions, length = pipe.execute()
    found = [position for position in positions if position is not None]
    if found:
        ahead = min(found)
    elif waiting:
        owner = Owner.of_document(document_id)
        earlier = 0
        if owner is not None:  # the owner's pages queue oldest first (see queue_waiting_pages)
            before = (Page.status == Page.PENDING) & Page.job_id.is_null() & (Page.id < waiting[0])
            earlier = _pages_of(owner, before).count()
        ahead = int(length) + earlier
    else:
        ahead = 0
    return QueuePosition(ahead, in_progress, len(queued), len(waiting))
