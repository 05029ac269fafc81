"""The platform under test: a fresh database, the stack on free ports, extra processes, RSS."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from functions.dev import processes
from functions.dev.ports import free_port
from functions.dev.stack import Ports, Stack

BENCH_REDIS_DB = 14  # tests use 15, `nox -s dev` 0; keys carry a per-run prefix anyway


@dataclass(frozen=True, slots=True)
class Backends:
    """Where the benchmark's PostgreSQL database and Redis live."""

    admin_url: str
    redis_url: str


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new database, dropped afterwards (migrations are applied by the stack)."""
    name = f"clickstream_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@dataclass
class Platform:
    """The running stack plus the processes a scenario adds (cold starts, ceilings)."""

    stack: Stack
    database_url: str
    redis_url: str
    extra: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    peak_rss_kb: dict[str, int] = field(default_factory=dict)
    exited: dict[str, int] = field(default_factory=dict)  # functions that died during the run

    @property
    def bootstrap(self) -> str:
        return self.stack.bootstrap

    def url(self, name: str) -> str:
        return self.stack.url(name)

    def spawn(
        self, label: str, module: str, role: str, env: Mapping[str, str]
    ) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
        """Start `python -m module` configured as the stack's `role` (a function's name),
        with `env` on top; PORT and METRICS_PORT are free ports."""
        child = self.stack.child_env(role) | {
            "PORT": str(free_port()),
            "METRICS_PORT": str(free_port()),
        }
        child |= dict(env)
        log = (self.stack.log_dir / f"{label}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", module], env=child, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.extra[label] = process
        return process, child

    def stop_extra(self, label: str, timeout_s: float = 15.0) -> None:
        process = self.extra.pop(label)
        self.note_rss(label.split("-", 1)[0], process.pid)
        processes.stop(process, timeout_s)

    def note_rss(self, name: str, pid: int) -> None:
        """Keep the highest peak RSS seen for `name` (Linux VmHWM)."""
        peak = peak_rss_kb(pid)
        if peak is not None:
            self.peak_rss_kb[name] = max(self.peak_rss_kb.get(name, 0), peak)

    def note_stack_rss(self) -> None:
        for name, process in self.stack.processes.items():
            code = process.poll()
            if code is None:
                self.note_rss(name, process.pid)
            else:
                self.exited[name] = code


def _status_field(pid: int, key: str) -> int | None:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def peak_rss_kb(pid: int) -> int | None:
    """The process's peak resident set size so far (kB), or None when unknown."""
    return _status_field(pid, "VmHWM")


def rss_kb(pid: int) -> int | None:
    return _status_field(pid, "VmRSS")


def cpu_s(pid: int) -> float | None:
    """The CPU time (user + system, seconds) the process has used so far, or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the fields after the command name, which may hold spaces, in parentheses
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def platform(backends: Backends, log_dir: Path, env: Mapping[str, str]) -> Iterator[Platform]:
    """The whole stack as `nox -s dev` runs it, on free ports, over a fresh database."""
    with fresh_database(backends.admin_url) as database_url:
        stack_env = {
            **os.environ,
            **env,
            "DATABASE_URL": database_url,
            "REDIS_URL": backends.redis_url,
        }
        stack = Stack(log_dir=log_dir, ports=Ports.free(), env=stack_env)
        stack.start()
        running = Platform(stack, database_url, backends.redis_url)
        try:
            yield running
        finally:
            running.note_stack_rss()
            for label in list(running.extra):
                running.stop_extra(label)
            stack.stop()
