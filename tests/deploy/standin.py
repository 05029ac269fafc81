"""A recording stand-in for `kind`, `kubectl` and `docker` (no cluster can run here).

Run as `standin.py TOOL ARGS...` through a wrapper named TOOL on PATH. It appends each call
to $STANDIN_LOG (one JSON line) and plays the few answers a deploy reads from a cluster,
from the state in $STANDIN_STATE: which Kind clusters exist, which objects exist (and the
image of the migration Job), the KafkaSource data plane's consumer properties. A call
containing $STANDIN_FAIL fails with a message.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

State = dict[str, Any]
# the consumer properties of the Kafka source release, where a state sets none
DATA_PLANE_PROPERTIES = "fetch.min.bytes=1\nmax.poll.interval.ms=300000\nmax.poll.records=50"


def _flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def _apply_kustomization(argv: list[str], state: State, record: dict[str, Any]) -> None:
    text = (Path(_flag(argv, "-k")) / "kustomization.yaml").read_text()
    record["kustomization"] = text
    tag = re.search(r'"newTag": "([^"]+)"', text)
    if tag:  # the app overlay: its apply creates the migration Job with that image
        state["objects"]["job/clickstream-migrate"] = f"dev.local/clickstream:{tag[1]}"


def _kubectl(argv: list[str], state: State, record: dict[str, Any]) -> str:
    objects: dict[str, str] = state["objects"]
    if "apply" in argv and "-k" in argv:
        _apply_kustomization(argv, state, record)
    elif argv[2:4] == ["create", "-f"]:
        created = json.loads(sys.stdin.read())
        record["created"] = f"{created['kind'].lower()}/{created['metadata']['name']}"
        objects[record["created"]] = ""
    elif argv[2] == "get" and argv[3] in ("secret", "job"):
        key = f"{argv[3]}/{argv[4]}"
        if key in objects:
            return objects[key] if argv[3] == "job" else key
    elif argv[2:4] == ["get", "configmap"]:  # the KafkaSource data plane's properties
        return str(state.get("data_plane", DATA_PLANE_PROPERTIES))
    elif argv[2:4] == ["patch", "configmap"]:
        (state["data_plane"],) = json.loads(_flag(argv, "-p"))["data"].values()
    elif argv[2:4] == ["delete", "job"]:
        objects.pop(f"job/{argv[4]}", None)
    elif argv[2] == "get" and argv[3].startswith("ksvc/"):
        return f"http://{argv[3][5:]}.clickstream.127.0.0.1.sslip.io"
    return ""


def _kind(argv: list[str], state: State) -> str:
    if argv[:2] == ["get", "clusters"]:
        return "\n".join(state["clusters"])
    if argv[:2] == ["create", "cluster"]:
        state["clusters"].append(_flag(argv, "--name"))
    if argv[:2] == ["delete", "cluster"]:
        state["clusters"].remove(_flag(argv, "--name"))
    return ""


def main(tool: str, argv: list[str]) -> int:
    state_file = Path(os.environ["STANDIN_STATE"])
    state: State = json.loads(state_file.read_text())
    record: dict[str, Any] = {"argv": [tool, *argv]}
    with open(os.environ["STANDIN_LOG"], "a") as log:
        failing = os.environ.get("STANDIN_FAIL")
        if failing and failing in " ".join([tool, *argv]):
            log.write(json.dumps(record) + "\n")
            print(f"error: stand-in {tool} told to fail here: {failing}", file=sys.stderr)
            return 1
        if tool == "kubectl":
            out = _kubectl(argv, state, record)
        elif tool == "kind":
            out = _kind(argv, state)
        else:
            out = "27.0.0" if argv[:1] == ["info"] else ""
        log.write(json.dumps(record) + "\n")
    state_file.write_text(json.dumps(state))
    # kubectl's -o jsonpath prints the value alone, with no newline after it
    print(out, end="" if "jsonpath=" in " ".join(argv) else "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
