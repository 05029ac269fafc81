"""Runs the whole platform as local processes: broker, migrations, four functions, dispatcher.

Used by `nox -s dev`, the end-to-end tests and the benchmarks, so all three run the same way,
and stop the same way: safely (functions/dev/shutdown.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from functions.core.config import DEFAULT_METRICS_PORTS, DEFAULT_PORTS, Settings, load_settings
from functions.core.errors import DependencyUnavailable
from functions.core.kafka import ensure_topic
from functions.core.migrate import apply_migrations
from functions.dev import processes
from functions.dev.broker import start_broker
from functions.dev.ports import free_port
from functions.dev.scrape import scrape_total
from functions.dev.shutdown import SafeStop, print_line

FUNCTIONS = ("process", "query", "ingest", "gateway", "dispatcher")
MODULES = {name: f"functions.{name}" for name in FUNCTIONS} | {
    "dispatcher": "functions.dev.dispatcher"
}


@dataclass
class Ports:
    http: dict[str, int]
    metrics: dict[str, int]

    @classmethod
    def defaults(cls) -> Ports:
        return cls(dict(DEFAULT_PORTS), dict(DEFAULT_METRICS_PORTS))

    @classmethod
    def free(cls) -> Ports:
        return cls(
            {name: free_port() for name in DEFAULT_PORTS},
            {name: free_port() for name in DEFAULT_METRICS_PORTS},
        )


@dataclass
class Stack:
    """The running platform; `start()` returns once every function answers its readiness."""

    log_dir: Path
    ports: Ports = field(default_factory=Ports.defaults)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    bootstrap: str = ""
    # set while `stop()` runs (a second Ctrl-C): it gives up and kills what is left at once
    abort: threading.Event = field(default_factory=threading.Event)

    @property
    def settings(self) -> Settings:
        return load_settings("dev", self.env)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports.http[name]}"

    def child_env(self, name: str) -> dict[str, str]:
        settings = self.settings
        return {
            **self.env,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "KAFKA_TOPIC": settings.kafka_topic,
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "QUERY_ADDR": f"127.0.0.1:{self.ports.http['query']}",
            "PROCESS_URL": self.url("process") + "/",
            "METRICS_PORT": str(self.ports.metrics[name]),
            "PYTHONUNBUFFERED": "1",
        } | ({"PORT": str(self.ports.http[name])} if name in self.ports.http else {})

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        settings = self.settings
        try:
            self.bootstrap = settings.kafka_bootstrap_servers
            if not self.bootstrap:
                broker, self.bootstrap = start_broker(self.log_dir / "broker.log")
                self.processes["broker"] = broker
            ensure_topic(self.bootstrap, settings.kafka_topic)
            apply_migrations(settings.database_url)
            for name in FUNCTIONS:
                self.spawn(name)
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def spawn(self, name: str) -> None:
        with (self.log_dir / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", MODULES[name]],
                env=self.child_env(name),
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=processes.die_with_parent,
                # a terminal's Ctrl-C reaches the supervisor only, which stops them in order
                process_group=0,
            )

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Every function's readiness endpoint answers 200 (query and dispatcher: metrics)."""
        deadline = time.monotonic() + timeout_s
        probes = {name: self.url(name) + "/readyz" for name in ("ingest", "process", "gateway")}
        probes |= {
            name: f"http://127.0.0.1:{self.ports.metrics[name]}/metrics"
            for name in ("query", "dispatcher")
        }
        with httpx.Client(timeout=2) as client:
            for name, url in probes.items():
                while True:
                    self._check_alive(name)
                    try:
                        if client.get(url).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise DependencyUnavailable(
                            name,
                            f"not ready within {timeout_s:.0f} s; "
                            f"see {self.log_dir / (name + '.log')}",
                        )
                    time.sleep(0.1)

    def _check_alive(self, name: str) -> None:
        code = self.processes[name].poll()
        if code is not None:
            log_tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-2000:]
            raise DependencyUnavailable(name, f"exited with {code}:\n{log_tail}")

    def dispatcher_lag(self) -> int | None:
        """Records on the dispatcher's topics not yet delivered, by its lag metric; None
        when it reports none (not running, or no partitions yet)."""
        metrics = f"http://127.0.0.1:{self.ports.metrics['dispatcher']}/metrics"
        lag = scrape_total(metrics, "clickstream_dispatcher_lag")
        return None if lag is None else int(lag)

    def stop(self, say: Callable[[str], None] = print_line) -> bool:
        """The safe stop (functions/dev/shutdown.py): ingest first, the dispatcher drains
        the topic, the broker last; `abort` set meanwhile gives up at once. Returns whether
        every process exited by itself within its grace."""
        fate = (
            "lost with the in-memory broker"
            if "broker" in self.processes
            else "left on the broker for the next dispatcher"
        )
        stop = SafeStop(self.processes, self.dispatcher_lag, self.abort, say, self.log_dir, fate)
        try:
            return stop.run()
        finally:
            self.processes.clear()
