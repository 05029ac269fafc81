"""The local dispatcher plays the KafkaSources of the rendered manifests, rule for rule."""

from __future__ import annotations

from pathlib import Path

from functions.core.config import load_settings
from functions.deploy.pins import Pins
from functions.dev.delivery import DeliveryPolicy
from functions.dev.sources import Destination, duration_s, load_sources, localized
from tests.deploy.manifests import Manifest

SOURCE = ("sources.knative.dev/v1", "KafkaSource")


def test_the_stand_in_defaults_are_the_rendered_manifests_values(
    rendered: list[Manifest], pins: Pins
) -> None:
    sources = [m for m in rendered if (m["apiVersion"], m["kind"]) == SOURCE]
    played = {source.name: source for source in load_sources()}
    assert sorted(played) == sorted(m["metadata"]["name"] for m in sources)
    (data_plane,) = [c for c in pins.components if c.name == "knative-kafka-source"]
    sink_topics = {
        m["metadata"]["name"]: m["spec"]["topic"] for m in rendered if m["kind"] == "KafkaSink"
    }
    for manifest in sources:
        spec, delivery = manifest["spec"], manifest["spec"]["delivery"]
        source = played[manifest["metadata"]["name"]]
        assert source.namespace == manifest["metadata"]["namespace"]
        assert [source.topic] == spec["topics"]
        assert source.consumer_group == spec["consumerGroup"]
        assert source.ordered == (spec["ordering"] == "ordered")
        assert source.policy.retry == delivery["retry"]
        assert source.policy.backoff_policy == delivery["backoffPolicy"]
        assert source.policy.backoff_delay_s == duration_s(delivery["backoffDelay"])
        assert source.policy.timeout_s == duration_s(delivery["timeout"])
        assert source.max_poll_records == data_plane.max_poll_records == 50
        sink_ref = delivery["deadLetterSink"]["ref"]
        assert source.dead_letter_sink == Destination("kafka", topic=sink_topics[sink_ref["name"]])
        assert source.sink == Destination("process", path=spec["sink"].get("uri", "/"))


def test_locally_the_rules_stay_and_only_topics_and_groups_move() -> None:
    settings = load_settings("dispatcher", {"KAFKA_TOPIC": "t1", "CONSUMER_GROUP": "g1"})
    events, letters = (localized(s, settings) for s in load_sources())
    assert (events.topic, events.consumer_group) == ("t1", "g1")
    assert letters.topic == "t1-dead-letters"
    assert letters.consumer_group == "g1-dead-letters-to-process"
    assert (
        events.dead_letter_sink
        == letters.dead_letter_sink
        == Destination("kafka", topic=letters.topic)
    )
    assert events.policy == next(iter(load_sources())).policy


def test_the_environment_may_shorten_the_budget() -> None:
    env = {"DELIVERY_RETRY": "2", "DELIVERY_BACKOFF_DELAY_SECONDS": "0.05"}
    for source in load_sources():
        local = localized(source, load_settings("dispatcher", env))
        assert (local.policy.retry, local.policy.backoff_delay_s) == (2, 0.05)
        assert local.policy.backoff_policy == source.policy.backoff_policy


def test_iso_durations() -> None:
    assert duration_s("PT0.3S") == 0.3
    assert duration_s("PT10M") == 600
    assert duration_s("P1DT1H1M1S") == 90061


def test_what_a_spec_leaves_out_takes_knatives_defaults(tmp_path: Path) -> None:
    eventing = tmp_path / "eventing"
    eventing.mkdir()
    (eventing / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ns\n"
    )
    (eventing / "source.yaml").write_text(
        "apiVersion: sources.knative.dev/v1\nkind: KafkaSource\nmetadata: {name: s}\n"
        "spec: {consumerGroup: g, topics: [clicks], sink: {ref: {apiVersion:"
        " serving.knative.dev/v1, kind: Service, name: process}}}\n"
    )
    (source,) = load_sources(eventing)
    assert source.ordered  # ordering defaults to ordered
    assert source.policy == DeliveryPolicy(
        retry=10, backoff_policy="exponential", backoff_delay_s=0.3, timeout_s=600
    )
    assert source.dead_letter_sink is None
