"""A local Prometheus (Debian's `prometheus` package) for `nox -s dev -- --with-prometheus`.

It scrapes every local function's `METRICS_PORT` under the cluster's job name and `service`
label, and loads the cluster's rule files, so the rules and the dashboards' queries run
against the local stack exactly as they do on Knative.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from functions.core.errors import DependencyUnavailable
from functions.dev import processes

# Prometheus flushes its head block on SIGTERM: give it time before SIGKILL
PROMETHEUS_GRACE_S = 10.0

OBSERVABILITY_DIR = Path(__file__).resolve().parents[2] / "knative" / "observability"
RULES_DIR = OBSERVABILITY_DIR / "prometheus" / "rules"
JOB = "clickstream-functions"  # the cluster's job name (prometheus/prometheus.yaml)


def config(metrics_ports: Mapping[str, int], interval_s: int = 5) -> dict[str, object]:
    """The Prometheus configuration (JSON is YAML) scraping `metrics_ports` by function name."""
    return {
        "global": {"scrape_interval": f"{interval_s}s", "evaluation_interval": f"{interval_s}s"},
        "rule_files": [str(RULES_DIR / "*.yaml")],
        "scrape_configs": [
            {
                "job_name": JOB,
                "static_configs": [
                    {"targets": [f"127.0.0.1:{port}"], "labels": {"service": name}}
                    for name, port in sorted(metrics_ports.items())
                ],
            }
        ],
    }


def start_prometheus(
    metrics_ports: Mapping[str, int],
    port: int,
    data_dir: Path,
    interval_s: int = 5,
    timeout_s: float = 30.0,
) -> subprocess.Popen[bytes]:
    """Start Prometheus on 127.0.0.1:`port`, its files under `data_dir`; returns once ready."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise DependencyUnavailable("prometheus", "not installed (apt-get install prometheus)")
    data_dir.mkdir(parents=True, exist_ok=True)
    config_file = data_dir / "prometheus.yml"
    config_file.write_text(json.dumps(config(metrics_ports, interval_s), indent=2))
    log = data_dir / "prometheus.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={data_dir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=processes.die_with_parent,
        )
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise DependencyUnavailable("prometheus", f"exited with {process.returncode}:\n{tail}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            processes.stop(process, PROMETHEUS_GRACE_S)
            raise DependencyUnavailable(
                "prometheus", f"not ready within {timeout_s:.0f} s; see {log}"
            )
        time.sleep(0.1)
