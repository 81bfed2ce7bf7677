#!/usr/bin/env python3
"""Load test: a real API and real workers under many concurrent, checked clients.

Run: ``.venv/bin/python scripts/bench/load.py [--duration 60] [--clients 64]
[--subscriptions 50] [--json]``

It starts ``archivist serve`` (Uvicorn) and two ``archivist worker`` processes on a free
loopback port and a fresh data folder, creates users (``--users``, 8) who upload seed PDFs
with a real text layer (``load_corpus.py`` beside this file), waits until they are READY,
then (after a warm-up) for ``--duration`` seconds runs ``--clients`` HTTP clients
(``load_clients.py``) and ``--subscriptions`` websockets (``load_subscriptions.py``):
searches for words the client's own pages carry and for words only other users' pages carry
(zero hits), folder listings, document reads, previews and downloads through signed URLs,
small uploads, and ``documentsProgress`` feeds and ``documentProgress`` subscriptions. Every
answer is checked against what that client knows.

Traffic goes to 127.0.0.1 only, and the run is bounded: ``--duration`` seconds of load (at
most ``--max-requests`` requests and ``--max-uploads`` uploads), a ``--setup-timeout``, and
60 s per request. Redis: ``ARCHIVIST_BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/13),
FLUSHED at start and end: give it a database of its own. Database: SQLite in the data folder,
or ``ARCHIVIST_BENCH_DATABASE_URL``, whose tables are DROPPED first (a variable of its own, so
that a shell's ``ARCHIVIST_DATABASE_URL`` of a real deployment is never emptied by mistake).

It prints requests/s, p50/p95/p99 per operation, failures by kind, whether the API process is
still alive, and the API's resident memory (VmRSS of /proc/PID/status): at boot, at the end of
the warm-up and at the end. The warm-up comes first and is not part of ``--duration``: it lasts
``--warmup`` seconds (10) and until every kind of request has been answered 5 times (at most
120 s), so that caches, connection pools and lazily loaded modules are in place whatever the
machine's speed. Memory growth is measured from its end to the end of the run, so start-up
allocations do not count; requests/s and latencies describe the measured part too, while
failures count from the first request of the set-up to the last.

Exit status 0 when the API passed: no 5xx, no crash, no wrong answer, no GraphQL error on a
request that must succeed, no request left without an answer (see load_clients.py for the
kinds), and RSS growth under 10 %; 1 otherwise; 2 when the set-up itself failed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling modules: scripts are not a package

from project_venv import reexec_in_venv  # noqa: E402

if __name__ == "__main__":
    reexec_in_venv()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import redis  # noqa: E402
from load_clients import Client, Limits, Stats  # noqa: E402
from load_corpus import World, build_world  # noqa: E402
from load_processes import Processes, prepare_database, setup_world  # noqa: E402
from load_subscriptions import run_feed, run_watcher  # noqa: E402

RSS_GROWTH_LIMIT = 10.0  # percent
WARMUP_ANSWERS = 5  # answers of every kind of request before the warm-up may end
WARMUP_LIMIT = 120.0  # seconds: measure from here even if some kind never got its answers


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (60)")
    parser.add_argument("--clients", type=int, default=64, help="concurrent HTTP clients (64)")
    parser.add_argument("--subscriptions", type=int, default=50, help="open websockets (50)")
    parser.add_argument("--users", type=int, default=8, help="users sharing the clients (8)")
    parser.add_argument("--warmup", type=float, default=10, help="least warm-up seconds (10)")
    parser.add_argument("--max-requests", type=int, default=500_000, help="stop after these")
    parser.add_argument("--max-uploads", type=int, default=400, help="uploads at most (400)")
    parser.add_argument("--setup-timeout", type=float, default=300, help="seconds (300)")
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated operations to run ({', '.join(Client.WEIGHTS)})",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    args = parser.parse_args()
    if args.users < 2 or args.duration <= 0 or args.clients < 1 or args.subscriptions < 0:
        parser.error("need 2 users or more, a positive duration and at least one client")
    args.only = [name for name in args.only.split(",") if name]
    if set(args.only) - set(Client.WEIGHTS):
        parser.error(f"unknown operations: {set(args.only) - set(Client.WEIGHTS)}")
    return args


def say(message: str) -> None:
    print(f"[load] {message}", file=sys.stderr, flush=True)


async def run_load(
    base: str, world: World, args: argparse.Namespace, processes: Processes, stats: Stats
) -> dict[str, Any]:
    """The load itself, counted in ``stats``; returns what the monitor saw of the API."""
    start = time.monotonic()
    limits = Limits(start + WARMUP_LIMIT + args.duration, args.max_requests, args.max_uploads)
    seen: dict[str, Any] = {"rss_start": None, "rss_peak": 0, "crashed_after": None}
    users = world.users
    clients = [
        Client(n, base, world, users[n % len(users)], stats, args.only) for n in range(args.clients)
    ]
    tasks = [asyncio.create_task(client.run(limits)) for client in clients]
    for n in range(args.subscriptions):
        user = users[n % len(users)]
        if n % 2 == 0:
            tasks.append(asyncio.create_task(run_feed(base, world, user, stats, limits)))
        else:
            tasks.append(asyncio.create_task(run_watcher(n, base, world, user, stats, limits)))
    kinds = set(clients[0].weights) | ({"subscribe"} if args.subscriptions > 1 else set())
    measured_from = None
    while not limits.over(stats):  # the monitor: warm-up, crashes and memory
        await asyncio.sleep(0.25)
        now = time.monotonic()
        rss = processes.api_rss_kib()
        if rss is None or not processes.api_alive():
            seen["crashed_after"] = round(now - start, 1)
            say(f"the API process died after {seen['crashed_after']} s of load")
            break
        seen["rss_peak"] = max(seen["rss_peak"], rss)
        warm = all(len(stats.latencies.get(kind, [])) >= WARMUP_ANSWERS for kind in kinds)
        if measured_from is None and (
            (warm and now - start >= args.warmup) or now - start >= WARMUP_LIMIT
        ):
            measured_from, seen["rss_start"], seen["warmup_s"] = now, rss, round(now - start, 1)
            say(f"warm after {seen['warmup_s']} s (RSS {rss} KiB); measuring {args.duration} s")
            stats.latencies.clear()  # figures describe the steady state; failures all count
            stats.requests = 0
            limits.deadline = now + args.duration
    seen["elapsed"] = time.monotonic() - (measured_from or start)
    seen["rss_end"] = processes.api_rss_kib()
    limits.stop.set()
    _done, pending = await asyncio.wait(tasks, timeout=70)  # in-flight requests may finish
    for task in pending:
        task.cancel()
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            stats.fail("load script error", "client", repr(task.exception()))
    for username, document_id in stats.unknown_event_ids:  # uploads confirmed since
        owner = world.owner_of(document_id)
        stats.check(
            owner is None or owner.username == username,
            "feed", f"{username} got an event of {owner and owner.username}'s {document_id}",
        )  # fmt: skip
    seen["unverified_events"] = sum(
        world.owner_of(document_id) is None for _, document_id in stats.unknown_event_ids
    )
    return seen


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summarise(
    stats: Stats, seen: dict[str, Any], processes: Processes, args: Any
) -> dict[str, Any]:
    operations = {
        name: {
            "count": len(values),
            "p50_ms": round(percentile(values, 0.50) * 1000, 1),
            "p95_ms": round(percentile(values, 0.95) * 1000, 1),
            "p99_ms": round(percentile(values, 0.99) * 1000, 1),
        }
        for name, values in sorted(stats.latencies.items())
        if values
    }
    kinds: dict[str, int] = {}
    for (kind, _operation), count in stats.failures.items():
        kinds[kind] = kinds.get(kind, 0) + count
    start, end = seen["rss_start"], seen["rss_end"]
    growth = round((end - start) * 100 / start, 1) if start and end else None
    crash = processes.api_exit()
    reasons = [f"{count} x {kind}" for kind, count in sorted(kinds.items())]
    if crash is not None:
        reasons.append(f"API crashed ({crash}) after {seen['crashed_after']} s of load")
    if growth is not None and growth >= RSS_GROWTH_LIMIT:
        reasons.append(f"RSS grew {growth} % (limit {RSS_GROWTH_LIMIT} %)")
    return {
        "duration_s": round(seen["elapsed"], 1),
        "clients": args.clients,
        "subscriptions": args.subscriptions,
        "requests": stats.requests,
        "requests_per_s": round(stats.requests / max(seen["elapsed"], 0.001), 1),
        "operations": operations,
        "failures": kinds,
        "failures_by_operation": {f"{k} / {op}": n for (k, op), n in stats.failures.items()},
        "examples": dict(stats.examples),
        "subscription_events": dict(stats.events),
        "unverified_events": seen["unverified_events"],
        "api_alive": crash is None,
        "api_exit": crash,
        "workers_alive": processes.workers_alive(),
        "rss_boot_kib": processes.rss_boot,
        "rss_start_kib": start,
        "rss_end_kib": end,
        "rss_peak_kib": seen["rss_peak"],
        "rss_growth_percent": growth,
        "warmup_s": seen.get("warmup_s"),
        "passed": not reasons,
        "reasons": reasons,
    }


def print_report(summary: dict[str, Any]) -> None:
    print(
        f"{summary['requests']} requests in {summary['duration_s']} s: "
        f"{summary['requests_per_s']} requests/s ({summary['clients']} clients, "
        f"{summary['subscriptions']} subscriptions)"
    )
    print(f"{'operation':<16} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, figures in summary["operations"].items():
        print(
            f"{name:<16} {figures['count']:>7} {figures['p50_ms']:>8} "
            f"{figures['p95_ms']:>8} {figures['p99_ms']:>8}"
        )
    print(
        f"subscription events: {summary['subscription_events'] or 'none'} "
        f"({summary['unverified_events']} about documents of unanswered uploads)"
    )
    print("failures:", "none" if not summary["failures"] else "")
    for kind_operation, count in sorted(summary["failures_by_operation"].items()):
        print(f"  {count:>6}  {kind_operation}")
    for kind, examples in summary["examples"].items():
        print(f"  e.g. {kind}:")
        for example in examples[:4]:
            print(f"    {example}")
    alive = "alive" if summary["api_alive"] else f"DEAD ({summary['api_exit']})"
    print(f"API process: {alive}; workers alive: {summary['workers_alive']}")
    print(
        f"API RSS (KiB): boot {summary['rss_boot_kib']}, after {summary['warmup_s']} s "
        f"warm-up {summary['rss_start_kib']}, end {summary['rss_end_kib']}, peak "
        f"{summary['rss_peak_kib']}; growth {summary['rss_growth_percent']} %"
    )
    print("PASSED" if summary["passed"] else "FAILED: " + "; ".join(summary["reasons"]))


def main() -> int:
    args = parse_args()
    redis_url = os.environ.get("ARCHIVIST_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    data_dir = Path(tempfile.mkdtemp(prefix="archivist-load-"))
    database_url = os.environ.get("ARCHIVIST_BENCH_DATABASE_URL") or (
        f"sqlite:///{data_dir / 'archivist.sqlite3'}"
    )
    queue = redis.Redis.from_url(redis_url)
    queue.flushdb()
    processes = Processes(data_dir, database_url, redis_url)
    try:
        world = build_world(args.users, documents=2, pages=2)
        say(f"data in {data_dir}; preparing the database and {args.users} users")
        prepare_database(database_url, world)
        base = processes.start(workers=2)
        say(f"API on {base} (pid {processes.api.pid}); uploading seed documents")
        stats = Stats()  # the set-up's failures count too
        try:
            asyncio.run(setup_world(base, world, args.setup_timeout, stats))
        except Exception as error:  # the set-up failed: say why, with the API's log
            say(f"set-up failed: {error}\n{processes.log_tail()}")
            return 2
        processes.rss_boot = processes.api_rss_kib()
        say(f"seeds READY; {args.duration:.0f} s of load, {args.clients} clients")
        seen = asyncio.run(run_load(base, world, args, processes, stats))
        summary = summarise(stats, seen, processes, args)
        summary["api_exceptions"] = processes.api_errors()
        if summary["api_exit"] is not None or summary["failures"]:
            summary["api_log_tail"] = processes.log_tail()
        if args.json:
            print(json.dumps(summary, indent=1))
        else:
            print_report(summary)
            for line, count in summary["api_exceptions"].items():
                print(f"API logged {count} x {line}")
            if "api_log_tail" in summary:
                print("API log, last lines:\n" + summary["api_log_tail"])
        return 0 if summary["passed"] else 1
    finally:
        processes.stop()
        queue.flushdb()
        if args.keep:
            say(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
