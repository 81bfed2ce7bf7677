"""Separate hosts on one machine: Linux network namespaces, each with its own address, joined
by veth links to one bridge (needs root and iproute2). No traffic leaves the machine.

The root namespace is the services host: it has the bridge's address, where the test starts
its own Redis and forwards the database's port (PostgreSQL and MariaDB listen on 127.0.0.1
only, which other namespaces cannot reach) with ``socat``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest


def require_namespaces() -> None:
    """Skip unless this process may make network namespaces (fails where CI requires it)."""
    why = None
    if os.geteuid() != 0:
        why = "network namespaces need root"
    elif shutil.which("ip") is None or shutil.which("socat") is None:
        why = "needs iproute2 and socat (apt-get install iproute2 socat)"
    if why is not None:
        if os.environ.get("ARCHIVIST_REQUIRE_NETNS") == "1":
            pytest.fail(f"{why}; ARCHIVIST_REQUIRE_NETNS=1 requires them")
        pytest.skip(why)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class Host:
    """One network namespace with one address on the bridge."""

    def __init__(self, network: Network, name: str, address: str) -> None:
        self.name = name
        self.namespace = f"{network.prefix}-{name}"
        self.address = address
        self.link = f"{network.prefix}{name}"[:15]  # the root side of its veth link
        self.processes: list[subprocess.Popen[bytes]] = []
        ip("netns", "add", self.namespace)
        ip("link", "add", self.link, "type", "veth", "peer", "name", "eth0", "netns",
           self.namespace)  # fmt: skip
        ip("link", "set", self.link, "master", network.bridge, "up")
        ip("-n", self.namespace, "addr", "add", f"{address}/24", "dev", "eth0")
        ip("-n", self.namespace, "link", "set", "eth0", "up")
        ip("-n", self.namespace, "link", "set", "lo", "up")

    def start(self, args: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        """Start ``args`` inside this host (``ip netns exec`` execs it: the pid is its own)."""
        with log.open("ab") as output:
            process = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace, *args], env=env, stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.processes.append(process)
        return process

    def run(self, args: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.namespace, *args], env=env, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip

    def pids(self) -> list[int]:
        found = subprocess.run(
            ["ip", "netns", "pids", self.namespace], capture_output=True, text=True
        ).stdout
        return [int(pid) for pid in found.split()]

    def kill(self) -> None:
        """Kill every process in this host at once, as a power cut would."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for process in self.processes:
            process.wait(10)
        self.processes.clear()

    def cut(self) -> None:
        """Cut its link: nothing goes in or out any more."""
        ip("link", "set", self.link, "down")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 15
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
        self.kill()


class Network:
    """A bridge in the root namespace (the services host, ``.1``) and hosts joined to it."""

    def __init__(self) -> None:
        number = os.getpid() % 250
        self.subnet = f"10.88.{number}"
        self.prefix = f"ar{number}"
        self.bridge = f"{self.prefix}br"
        self.address = f"{self.subnet}.1"
        self.hosts: dict[str, Host] = {}
        self.services: list[subprocess.Popen[bytes]] = []
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.address}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def add(self, name: str, number: int) -> Host:
        host = self.hosts[name] = Host(self, name, f"{self.subnet}.{number}")
        return host

    def service(self, args: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
        """Start a process on the services host (the root namespace)."""
        with log.open("ab") as output:
            process = subprocess.Popen(
                list(args), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.services.append(process)
        return process

    def close(self) -> None:
        for host in self.hosts.values():
            host.stop()
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True)
            subprocess.run(["ip", "link", "del", host.link], capture_output=True)
        for process in self.services:
            process.kill()
            process.wait()
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
