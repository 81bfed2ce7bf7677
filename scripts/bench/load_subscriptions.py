"""The load test's websockets (graphql-transport-ws), held open for the whole run.

A feed (:func:`run_feed`) subscribes to ``documentsProgress``: every event must be about one
of the person's own documents. A watcher (:func:`run_watcher`) subscribes to one document
after another with ``documentProgress``: its own answers first with its current state (the
seeds are READY), someone else's must be refused with NOT_FOUND. Failures are counted in the
same :class:`~load_clients.Stats` as the HTTP clients'.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import websockets
from load_clients import TIMEOUT, Limits, Stats
from load_corpus import UserFacts, World

FEED = "subscription { documentsProgress { documentId status pagesDone pagesTotal } }"
WATCH = """subscription($id: ID!) { documentProgress(documentId: $id) {
  documentId status pagesDone pagesTotal } }"""


async def _connect(base: str, user: UserFacts) -> Any:
    """A websocket that has passed graphql-transport-ws's ``connection_init``."""
    url = base.replace("http://", "ws://", 1) + "/graphql"
    socket = await websockets.connect(
        url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
        proxy=None, ping_interval=None, open_timeout=TIMEOUT,
    )  # fmt: skip
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {user.token}"}}
    await socket.send(json.dumps(init))
    ack = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
    if ack != {"type": "connection_ack"}:
        raise ConnectionError(f"no connection_ack: {ack}")
    return socket


async def _receive(socket: Any, timeout: float) -> dict[str, Any] | None:
    """The next message (answering pings on the way), or None when none came in time."""
    end = time.monotonic() + timeout
    while (left := end - time.monotonic()) > 0:
        try:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), left))
        except TimeoutError:
            return None
        if message.get("type") == "ping":
            await socket.send(json.dumps({"type": "pong"}))
            continue
        return message
    return None


async def run_feed(base: str, world: World, user: UserFacts, stats: Stats, limits: Limits) -> None:
    """``documentsProgress`` for the whole run: every event must be about the user's own."""
    try:
        socket = await _connect(base, user)
        async with socket:
            subscribe = {"type": "subscribe", "id": "feed", "payload": {"query": FEED}}
            await socket.send(json.dumps(subscribe))
            while not limits.over(stats):
                message = await _receive(socket, 0.5)
                if message is None:
                    continue
                payload: Any = message.get("payload") if message.get("type") == "next" else None
                if not isinstance(payload, dict) or not payload.get("data"):
                    errors = (payload or {}).get("errors") or [{}]
                    code = (errors[0].get("extensions") or {}).get("code")
                    kind = f"graphql {code}" if code else "wrong answer"
                    stats.fail(kind, "feed", f"{user.username}: {message}")
                    continue
                event = payload["data"]["documentsProgress"]
                stats.events["feed"] += 1
                owner = world.owner_of(event["documentId"])
                if owner is None:  # an upload not answered yet: checked again at the end
                    stats.unknown_event_ids.add((user.username, event["documentId"]))
                stats.check(
                    owner is None or owner is user,
                    "feed", f"{user.username} got an event of {owner and owner.username}: {event}",
                )  # fmt: skip
    except (OSError, TimeoutError, websockets.WebSocketException) as error:
        if not limits.stop.is_set():
            stats.fail("transport", "feed", f"{type(error).__name__}: {error}")


async def run_watcher(
    n: int, base: str, world: World, user: UserFacts, stats: Stats, limits: Limits
) -> None:
    """``documentProgress`` on one document after another, on one websocket: an own one
    answers with its current state (READY), someone else's with a NOT_FOUND error."""
    chooser = random.Random(1000 + n)
    try:
        socket = await _connect(base, user)
        async with socket:
            for k in range(1_000_000):
                if limits.over(stats):
                    break
                own = chooser.random() < 0.7
                owner = user if own else chooser.choice(world.others(user))
                document = chooser.choice(owner.seeds)
                payload = {"query": WATCH, "variables": {"id": document.id}}
                start = time.perf_counter()
                await socket.send(
                    json.dumps({"type": "subscribe", "id": str(k), "payload": payload})
                )
                message = await _receive(socket, TIMEOUT)
                while message is not None and message.get("id") != str(k):
                    message = await _receive(socket, TIMEOUT)  # late events of the last one
                if message is None:
                    stats.fail("transport", "subscribe", f"no answer to {document.id}")
                    break
                stats.timed("subscribe", time.perf_counter() - start)
                if own:
                    pages = len(document.pages)
                    expected = {"documentId": document.id, "status": "READY",
                                "pagesDone": pages, "pagesTotal": pages}  # fmt: skip
                    got = message.get("payload") if message.get("type") == "next" else message
                    stats.check(
                        got == {"data": {"documentProgress": expected}},
                        "subscribe", f"{user.username} watched {document.id}: {message}",
                    )  # fmt: skip
                else:
                    # Refused: an ``error`` message, or ``next`` with errors (Ariadne's way
                    # for an error raised by the subscription's source).
                    errors = message.get("payload")
                    if message.get("type") == "next" and isinstance(errors, dict):
                        errors = None if errors.get("data") else errors.get("errors")
                    code = (errors[0].get("extensions") or {}).get("code") if errors else None
                    stats.check(
                        code == "NOT_FOUND",
                        "subscribe", f"{user.username} watched {owner.username}'s: {message}",
                    )  # fmt: skip
                await asyncio.sleep(chooser.uniform(1, 3))  # stay subscribed a while
                await socket.send(json.dumps({"type": "complete", "id": str(k)}))
    except (OSError, TimeoutError, websockets.WebSocketException) as error:
        if not limits.stop.is_set():
            stats.fail("transport", "subscribe", f"{type(error).__name__}: {error}")
