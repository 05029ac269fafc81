"""`python -m functions.dev` (`nox -s dev`): the whole platform on this machine, one command."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from functions.core.errors import ClickstreamError, DependencyUnavailable
from functions.dev import processes
from functions.dev.dashboard import ensure_built
from functions.dev.prometheus import PROMETHEUS_GRACE_S, start_prometheus
from functions.dev.shutdown import StopSignals
from functions.dev.stack import Ports, Stack

DEMO = """
Clickstream is running.
  ingest   {ingest}/ingest       (POST events; CloudEvents on {ingest}/)
  gateway  {gateway}/            (REST API, dashboard)
  query    grpc://127.0.0.1:{query_port}   (AnalyticsService)
  process  {process}/            (fed by the local KafkaSource dispatcher)
  kafka    {bootstrap}
  metrics  {metrics}
  logs     {logs}

Try it:
  curl -si -X POST {ingest}/ingest -H 'Content-Type: application/json' \\
    -d '{{"event_id":"demo-1","user_id":"user-1","event_type":"click","page_url":"/home"}}'
  curl -s '{gateway}/analytics/events?user_id=user-1&page_url=/home'

Ctrl-C (or SIGTERM) stops safely: ingest first, then the dispatcher delivers every record
left on the topic, the broker last. A second Ctrl-C stops everything at once.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s dev", description=__doc__)
    parser.add_argument("--log-dir", type=Path, default=Path(".dev-logs"))
    parser.add_argument(
        "--free-ports",
        action="store_true",
        help="every function on a free port instead of the defaults (beside other stacks)",
    )
    parser.add_argument(
        "--with-prometheus",
        action="store_true",
        help="also run a local Prometheus (Debian's package) with the cluster's rules",
    )
    parser.add_argument("--prometheus-port", type=int, default=9090)
    args = parser.parse_args(argv)
    stack = Stack(log_dir=args.log_dir, ports=Ports.free() if args.free_ports else Ports.defaults())
    signals = StopSignals(stack.abort)
    signals.install()
    prometheus = None
    code = 0
    try:
        try:
            ensure_built()
        except DependencyUnavailable as error:
            # the API is useful without the dashboard: say why `/` answers 503, and go on
            print(f"clickstream: {error}", file=sys.stderr)
        stack.start()
        if args.with_prometheus:
            prometheus = start_prometheus(
                stack.ports.metrics, args.prometheus_port, args.log_dir / "prometheus"
            )
            print(f"  prometheus http://127.0.0.1:{args.prometheus_port}/alerts", flush=True)
        print(demo(stack, args.log_dir), flush=True)
        while True:  # until the first signal raises KeyboardInterrupt
            signal.pause()
    except KeyboardInterrupt:
        pass
    except ClickstreamError as error:
        print(f"clickstream: {error}", file=sys.stderr)
        code = 1
    finally:
        signals.stopping()
        if prometheus is not None:
            processes.stop(prometheus, PROMETHEUS_GRACE_S)
        clean = stack.stop()
    return code or (0 if clean else 1)


def demo(stack: Stack, log_dir: Path) -> str:
    return DEMO.format(
        ingest=stack.url("ingest"),
        gateway=stack.url("gateway"),
        process=stack.url("process"),
        query_port=stack.ports.http["query"],
        bootstrap=stack.bootstrap,
        metrics=", ".join(f"{n}:{p}" for n, p in stack.ports.metrics.items()),
        logs=log_dir.resolve(),
    )


if __name__ == "__main__":
    sys.exit(main())
