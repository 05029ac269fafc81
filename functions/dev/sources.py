"""The KafkaSources the local dispatcher plays, read from the manifests `nox -s deploy` applies.

One source of truth: `knative/eventing/` holds each KafkaSource's topic, consumer group,
ordering, `spec.delivery` and sinks, and `kind/versions.toml` the data plane's
`max.poll.records`; the dispatcher takes them from there, so a local run and a benchmark
deliver as the cluster does. Environment variables may override the delivery rules (tests
shorten the retry budget with them); nothing else changes a rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from functions.core.config import Settings
from functions.deploy.pins import APP_DIR, VERSIONS_FILE, load_pins
from functions.dev.delivery import DeliveryPolicy

EVENTING_DIR = APP_DIR / "eventing"
KAFKA_SINK_KIND = ("eventing.knative.dev/v1alpha1", "KafkaSink")
PROCESS_SERVICE = ("serving.knative.dev/v1", "Service", "process")
# the cluster's topic names; locally they become the configured ones (`local_topic`)
EVENTS_TOPIC = "clicks"
DEAD_LETTER_TOPIC = "clicks-dead-letters"

# ISO 8601 durations as Knative's delivery spec writes them: PT0.3S, PT30S, PT10M, P1DT2H
_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_Value = TypeVar("_Value", int, float)
_SECONDS = {"days": 86400.0, "hours": 3600.0, "minutes": 60.0, "seconds": 1.0}
# what a KafkaSource's spec leaves out takes Knative's defaults, which DeliveryPolicy's are
KNATIVE_DEFAULTS = DeliveryPolicy()


def duration_s(text: str) -> float:
    """Seconds in an ISO 8601 duration (`PT0.3S` -> 0.3)."""
    match = _DURATION.match(text)
    if match is None or text in ("P", "PT"):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    return sum(float(v) * _SECONDS[k] for k, v in match.groupdict().items() if v)


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a source sends: `process` at `path`, or a KafkaSink's `topic`."""

    kind: Literal["process", "kafka"]
    path: str = "/"
    topic: str = ""


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One KafkaSource as the data plane runs it."""

    name: str
    namespace: str
    topic: str
    consumer_group: str
    ordered: bool
    policy: DeliveryPolicy
    max_poll_records: int
    sink: Destination
    dead_letter_sink: Destination | None


def _documents(directory: Path) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return documents


def _destination(address: dict[str, Any], sinks: dict[str, str]) -> Destination:
    ref = address.get("ref", {})
    if (ref.get("apiVersion"), ref.get("kind")) == KAFKA_SINK_KIND:
        return Destination("kafka", topic=sinks[ref["name"]])
    if (ref.get("apiVersion"), ref.get("kind"), ref.get("name")) == PROCESS_SERVICE:
        return Destination("process", path=address.get("uri", "/"))
    raise ValueError(f"the local dispatcher cannot play the destination {address}")


def _policy(delivery: dict[str, Any]) -> DeliveryPolicy:
    policy = delivery.get("backoffPolicy", KNATIVE_DEFAULTS.backoff_policy)
    if policy not in ("exponential", "linear"):
        raise ValueError(f"backoffPolicy {policy!r}")
    delay, timeout = delivery.get("backoffDelay"), delivery.get("timeout")
    return DeliveryPolicy(
        retry=int(delivery.get("retry", KNATIVE_DEFAULTS.retry)),
        backoff_policy="linear" if policy == "linear" else "exponential",
        backoff_delay_s=duration_s(delay) if delay else KNATIVE_DEFAULTS.backoff_delay_s,
        timeout_s=duration_s(timeout) if timeout else KNATIVE_DEFAULTS.timeout_s,
    )


def load_sources(
    eventing_dir: Path = EVENTING_DIR, versions_file: Path = VERSIONS_FILE
) -> tuple[SourceSpec, ...]:
    """Every KafkaSource of `eventing_dir`, as written there (the cluster's names), the one
    reading the events topic first."""
    documents = _documents(eventing_dir)
    kustomization = yaml.safe_load((eventing_dir / "kustomization.yaml").read_text())
    sinks = {
        d["metadata"]["name"]: d["spec"]["topic"]
        for d in documents
        if (d["apiVersion"], d["kind"]) == KAFKA_SINK_KIND
    }
    (data_plane,) = [c for c in load_pins(versions_file).components if c.max_poll_records]
    sources = []
    for document in documents:
        if document["kind"] != "KafkaSource":
            continue
        spec = document["spec"]
        delivery = spec.get("delivery", {})
        dead_letter = delivery.get("deadLetterSink")
        (topic,) = spec["topics"]
        sink = _destination(spec["sink"], sinks)
        if sink.kind != "process":  # records are POSTed (Sinks.post); letters may go to Kafka
            raise ValueError(f"the local dispatcher delivers records to process only: {spec}")
        sources.append(
            SourceSpec(
                name=document["metadata"]["name"],
                namespace=kustomization["namespace"],
                topic=topic,
                consumer_group=spec["consumerGroup"],
                ordered=spec.get("ordering", "ordered") == "ordered",
                policy=_policy(delivery),
                max_poll_records=data_plane.max_poll_records or 0,
                sink=sink,
                dead_letter_sink=_destination(dead_letter, sinks) if dead_letter else None,
            )
        )
    # the events source first: draining in this order leaves no letter behind (Stopping)
    return tuple(sorted(sources, key=lambda source: source.topic != EVENTS_TOPIC))


def local_topic(cluster_topic: str, settings: Settings) -> str:
    """The topic a cluster topic is locally: the configured events and dead-letter topics."""
    topics = {EVENTS_TOPIC: settings.kafka_topic, DEAD_LETTER_TOPIC: settings.dead_letter_topic}
    return topics[cluster_topic]


def _either(override: _Value | None, manifest: _Value) -> _Value:
    return manifest if override is None else override


def localized(source: SourceSpec, settings: Settings) -> SourceSpec:
    """`source` on this machine's topics and consumer groups, with the environment's
    overrides of the delivery rules."""
    overrides = settings.delivery_overrides
    policy = DeliveryPolicy(
        retry=_either(overrides.retry, source.policy.retry),
        backoff_policy=overrides.backoff_policy or source.policy.backoff_policy,
        backoff_delay_s=_either(overrides.backoff_delay_s, source.policy.backoff_delay_s),
        timeout_s=_either(overrides.timeout_s, source.policy.timeout_s),
    )

    dead_letter_sink = source.dead_letter_sink
    if dead_letter_sink is not None and dead_letter_sink.kind == "kafka":
        dead_letter_sink = replace(
            dead_letter_sink, topic=local_topic(dead_letter_sink.topic, settings)
        )
    # the events source takes the configured group; each other source gets its own beside it
    group = settings.consumer_group
    if source.topic != EVENTS_TOPIC:
        group = f"{group}-{source.name}"
    return replace(
        source,
        topic=local_topic(source.topic, settings),
        consumer_group=group,
        ordered=source.ordered if overrides.ordering is None else overrides.ordering == "ordered",
        policy=policy,
        max_poll_records=overrides.max_poll_records or source.max_poll_records,
        dead_letter_sink=dead_letter_sink,
    )
