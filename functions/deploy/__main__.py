"""`python -m functions.deploy up|down|smoke`: the sessions `deploy`, `undeploy`, `smoke`."""

from __future__ import annotations

import argparse
import sys

import httpx

from functions.deploy.cluster import CLUSTER
from functions.deploy.pins import ROOT, load_pins
from functions.deploy.smoke import gateway_for, run_smoke
from functions.deploy.steps import Deployer, Timeouts, Urls
from functions.deploy.tools import DeployError, Runner

READY = """
Clickstream is deployed on the Kind cluster `{cluster}`.
  ingest   {ingest}/ingest   (POST events; CloudEvents on {ingest}/)
  gateway  {gateway}/        (REST API, dashboard)
  grafana  {grafana}

Smoke test (events in through ingest, counted through the gateway):
  nox -s smoke -- {ingest}
"""
NO_GRAFANA = "not deployed (knative/kustomization.yaml does not include observability)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m functions.deploy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="create or update the Kind cluster and deploy everything")
    up.add_argument(
        "--slack-webhook-url", help="where Grafana sends alerts (creates clickstream-alerting once)"
    )
    down = commands.add_parser("down", help="remove the deployed application")
    down.add_argument("--cluster", action="store_true", help="delete the whole Kind cluster")
    smoke = commands.add_parser("smoke", help="send events to ingest, count them via gateway")
    smoke.add_argument("ingest_url")
    smoke.add_argument("--gateway", help="gateway URL (default: ingest's with `gateway`)")
    smoke.add_argument("--events", type=int, default=5)
    smoke.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for counts")
    return parser


def _report(urls: Urls) -> str:
    grafana = urls.grafana or NO_GRAFANA
    return READY.format(cluster=CLUSTER, ingest=urls.ingest, gateway=urls.gateway, grafana=grafana)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "smoke":
            gateway = args.gateway or gateway_for(args.ingest_url)
            # the first call may wake a service scaled to zero
            with httpx.Client(timeout=30.0) as client:
                result = run_smoke(client, args.ingest_url, gateway, args.events, args.timeout)
            print(
                f"smoke: {result.counted} of {result.sent} events counted once each for "
                f"{result.user_id} in {result.seconds:.1f} s"
            )
            return 0
        webhook = getattr(args, "slack_webhook_url", None)
        deployer = Deployer(Runner(ROOT), load_pins(), ROOT, Timeouts(), webhook)
        if args.command == "up":
            print(_report(deployer.up()), flush=True)
        else:
            deployer.down(delete_cluster=args.cluster)
    except DeployError as error:
        print(f"clickstream deploy failed at {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
