"""What the schemas cannot say: the rendered manifests wire the platform as DESIGN.md asks."""

from __future__ import annotations

import importlib.util
import json
from urllib.parse import urlsplit

import pytest

from functions.deploy.cluster import NAMESPACE, SERVICES
from functions.deploy.image import POSTGRES_REPOSITORY, REPOSITORY
from functions.deploy.pins import Pins
from functions.deploy.secrets import (
    ALERTING_NAMESPACE,
    ALERTING_SECRET,
    ALERTING_SECRET_KEYS,
    DB_SECRET,
    DB_SECRET_KEYS,
    TOKENS_SECRET,
    TOKENS_SECRET_KEYS,
    Tokens,
    alerting_secret_manifest,
    db_secret_manifest,
    tokens_secret_manifest,
)
from tests.deploy.manifests import Manifest, containers, find, name_of, pod_specs

KSVC = "serving.knative.dev/v1"
KAFKA_SINK = "eventing.knative.dev/v1alpha1"
MIN_SCALE = "autoscaling.knative.dev/min-scale"


def _ksvc(rendered: list[Manifest], name: str) -> Manifest:
    return find(rendered, KSVC, "Service", name)


def _config(rendered: list[Manifest]) -> dict[str, str]:
    data: dict[str, str] = find(rendered, "v1", "ConfigMap", "clickstream-config")["data"]
    return data


@pytest.mark.parametrize(
    ("name", "warm"), [("ingest", True), ("process", True), ("query", False), ("gateway", False)]
)
def test_scale_to_zero_where_design_says(rendered: list[Manifest], name: str, warm: bool) -> None:
    annotations = _ksvc(rendered, name)["spec"]["template"]["metadata"]["annotations"]
    min_scale = int(annotations[MIN_SCALE])
    assert min_scale >= 1 if warm else min_scale == 0


def test_ingest_sets_concurrency_and_target(rendered: list[Manifest]) -> None:
    template = _ksvc(rendered, "ingest")["spec"]["template"]
    concurrency = template["spec"]["containerConcurrency"]
    target = int(template["metadata"]["annotations"]["autoscaling.knative.dev/target"])
    assert 0 < target <= concurrency


def test_query_speaks_h2c_and_the_rest_http1(rendered: list[Manifest]) -> None:
    for name in SERVICES:
        (port,) = _ksvc(rendered, name)["spec"]["template"]["spec"]["containers"][0]["ports"]
        assert port["name"] == ("h2c" if name == "query" else "http1"), name


@pytest.mark.parametrize("name", SERVICES)
def test_each_function_is_probed_limited_and_scraped(rendered: list[Manifest], name: str) -> None:
    template = _ksvc(rendered, name)["spec"]["template"]
    (container,) = template["spec"]["containers"]
    assert {"requests", "limits"} <= container["resources"].keys()
    assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
    assert "readinessProbe" in container
    assert "livenessProbe" in container
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    # scraped where the function serves its metrics (METRICS_PORT of the ConfigMap)
    env = {e["name"]: e for e in container["env"]}
    assert env["METRICS_PORT"]["valueFrom"]["configMapKeyRef"]["key"] == "METRICS_PORT"
    assert annotations["prometheus.io/port"] == _config(rendered)["METRICS_PORT"]


def test_http_functions_probe_their_health_routes(rendered: list[Manifest]) -> None:
    for name in ("ingest", "process", "gateway"):
        (container,) = _ksvc(rendered, name)["spec"]["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    (query,) = _ksvc(rendered, "query")["spec"]["template"]["spec"]["containers"]
    assert query["readinessProbe"]["grpc"]["port"] == query["ports"][0]["containerPort"]


def test_functions_run_their_own_module(rendered: list[Manifest]) -> None:
    for name in SERVICES:
        (container,) = _ksvc(rendered, name)["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", f"functions.{name}"]
    job = find(rendered, "batch/v1", "Job", "clickstream-migrate")
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert migrate["command"] == ["python", "-m", "functions.core.migrate"]
    for module in [*(f"functions.{n}" for n in SERVICES), "functions.core.migrate"]:
        assert importlib.util.find_spec(module) is not None, module


def test_kafka_source_feeds_process_with_retries_and_dead_letters(
    rendered: list[Manifest],
) -> None:
    source = find(rendered, "sources.knative.dev/v1", "KafkaSource", "clicks-to-process")
    spec = source["spec"]
    process_ref = {"apiVersion": KSVC, "kind": "Service", "name": "process"}
    assert spec["sink"] == {"ref": process_ref}
    # dead letters go to Kafka, which takes them whatever PostgreSQL is doing
    sink_ref = {"apiVersion": KAFKA_SINK, "kind": "KafkaSink", "name": "clicks-dead-letters"}
    assert spec["delivery"]["deadLetterSink"] == {"ref": sink_ref}
    # the refs resolve: a process Service in the source's own namespace
    assert _ksvc(rendered, "process")["metadata"]["namespace"] == source["metadata"]["namespace"]
    assert spec["consumerGroup"]
    assert spec["ordering"] in ("ordered", "unordered")
    assert {"retry", "backoffPolicy", "backoffDelay", "timeout"} <= spec["delivery"].keys()


def test_dead_letters_reach_process_through_kafka_and_are_never_dropped(
    rendered: list[Manifest],
) -> None:
    kafka_sink = find(rendered, KAFKA_SINK, "KafkaSink", "clicks-dead-letters")
    topic = find(rendered, "kafka.strimzi.io/v1", "KafkaTopic", "clicks-dead-letters")
    source = find(rendered, "sources.knative.dev/v1", "KafkaSource", "dead-letters-to-process")
    events = find(rendered, "sources.knative.dev/v1", "KafkaSource", "clicks-to-process")
    assert kafka_sink["spec"]["topic"] == topic["metadata"]["name"]
    assert kafka_sink["spec"]["contentMode"] == "binary"  # as `clicks` holds events
    assert kafka_sink["spec"]["bootstrapServers"] == events["spec"]["bootstrapServers"]
    assert kafka_sink["metadata"]["namespace"] == events["metadata"]["namespace"]
    spec = source["spec"]
    assert spec["topics"] == [kafka_sink["spec"]["topic"]]
    assert spec["consumerGroup"] != events["spec"]["consumerGroup"]
    process_ref = {"apiVersion": KSVC, "kind": "Service", "name": "process"}
    assert spec["sink"] == {"ref": process_ref, "uri": "/dead-letters"}
    # a letter process cannot store yet goes back onto its topic rather than being dropped
    assert spec["delivery"]["deadLetterSink"] == events["spec"]["delivery"]["deadLetterSink"]


def test_kafka_source_reads_the_strimzi_topic(rendered: list[Manifest], pins: Pins) -> None:
    source = find(rendered, "sources.knative.dev/v1", "KafkaSource", "clicks-to-process")
    topic = find(rendered, "kafka.strimzi.io/v1", "KafkaTopic", "clicks")
    kafka_name = topic["metadata"]["labels"]["strimzi.io/cluster"]
    kafka = find(rendered, "kafka.strimzi.io/v1", "Kafka", kafka_name)
    namespace = kafka["metadata"]["namespace"]
    strimzi = next(c for c in pins.components if c.name == "strimzi")
    # Strimzi's operator watches only its own namespace
    assert namespace == topic["metadata"]["namespace"] == strimzi.namespace
    (port,) = [lst["port"] for lst in kafka["spec"]["kafka"]["listeners"] if not lst["tls"]]
    bootstrap = f"{kafka_name}-kafka-bootstrap.{namespace}.svc:{port}"
    assert source["spec"]["bootstrapServers"] == [bootstrap]
    assert source["spec"]["topics"] == [topic["spec"].get("topicName", "clicks")]
    assert _config(rendered)["KAFKA_BOOTSTRAP_SERVERS"] == bootstrap
    assert _config(rendered)["KAFKA_TOPIC"] == "clicks"
    pool = find(rendered, "kafka.strimzi.io/v1", "KafkaNodePool", "dual-role")
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka_name
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}  # KRaft, one node


def test_every_referenced_config_key_exists(rendered: list[Manifest]) -> None:
    maps = {
        (m["metadata"]["namespace"], m["metadata"]["name"]): set(m.get("data", {}))
        for m in rendered
        if m["kind"] == "ConfigMap"
    }
    # the Secrets deploy creates, as it creates them
    db = json.loads(db_secret_manifest(NAMESPACE, "pw"))
    alerting = json.loads(alerting_secret_manifest("https://hooks.slack.invalid/x", "pw"))
    tokens = json.loads(tokens_secret_manifest(NAMESPACE, Tokens.new()))
    secrets = {
        (NAMESPACE, DB_SECRET): set(db["stringData"]),
        (NAMESPACE, TOKENS_SECRET): set(tokens["stringData"]),
        (ALERTING_NAMESPACE, ALERTING_SECRET): set(alerting["stringData"]),
    }
    assert secrets[(NAMESPACE, DB_SECRET)] == set(DB_SECRET_KEYS)
    assert secrets[(ALERTING_NAMESPACE, ALERTING_SECRET)] == set(ALERTING_SECRET_KEYS)
    assert secrets[(NAMESPACE, TOKENS_SECRET)] == set(TOKENS_SECRET_KEYS)
    missing = []
    for owner, spec in pod_specs(rendered):
        namespace = owner["metadata"]["namespace"]
        for container in containers(spec):
            for env in container.get("env", []):
                source = env.get("valueFrom", {})
                for kind, known in (("configMapKeyRef", maps), ("secretKeyRef", secrets)):
                    if kind in source:
                        ref = source[kind]
                        if ref["key"] not in known.get((namespace, ref["name"]), set()):
                            missing.append(f"{name_of(owner)}: {ref['name']}.{ref['key']}")
    assert missing == []


def test_addresses_in_the_configuration_name_real_services(rendered: list[Manifest]) -> None:
    config = _config(rendered)
    redis = urlsplit(config["REDIS_URL"])
    service = find(rendered, "v1", "Service", "redis")
    assert redis.hostname == f"redis.{service['metadata']['namespace']}.svc"
    assert redis.port == service["spec"]["ports"][0]["port"]
    # gateway reaches query through Knative's cluster-local route, port 80 (h2c)
    assert config["QUERY_ADDR"] == f"query.{NAMESPACE}.svc.cluster.local:80"
    database = urlsplit(
        json.loads(db_secret_manifest(NAMESPACE, "pw"))["stringData"]["DATABASE_URL"]
    )
    postgres = find(rendered, "v1", "Service", "postgres")
    assert database.hostname == f"postgres.{postgres['metadata']['namespace']}.svc"
    assert database.port == postgres["spec"]["ports"][0]["port"]


def test_postgres_keeps_its_data_on_a_claim(rendered: list[Manifest]) -> None:
    statefulset = find(rendered, "apps/v1", "StatefulSet", "postgres")
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    assert claim["metadata"]["name"] in {m["name"] for m in container["volumeMounts"]}


def test_only_the_built_image_runs_project_code(rendered: list[Manifest]) -> None:
    ours = [
        c["image"]
        for _, spec in pod_specs(rendered)
        for c in containers(spec)
        if c["image"].startswith("dev.local/") and not c["image"].startswith(POSTGRES_REPOSITORY)
    ]
    assert len(ours) == len(SERVICES) + 1  # the functions and the migration Job
    assert {image.rsplit(":", 1)[0] for image in ours} == {REPOSITORY}


def test_postgres_runs_the_image_with_the_hll_extension(rendered: list[Manifest]) -> None:
    statefulset = find(rendered, "apps/v1", "StatefulSet", "postgres")
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    assert container["image"].rsplit(":", 1)[0] == POSTGRES_REPOSITORY


def test_project_containers_run_as_non_root(rendered: list[Manifest]) -> None:
    for owner, spec in pod_specs(rendered):
        for container in containers(spec):
            if container["image"].startswith(REPOSITORY):
                context = container["securityContext"]
                assert context["runAsNonRoot"]
                assert not context["allowPrivilegeEscalation"]
                assert context["capabilities"]["drop"] == ["ALL"], name_of(owner)


def test_the_gateway_and_ingest_take_their_tokens_from_the_secret(
    rendered: list[Manifest],
) -> None:
    """The one public Service never starts open: its tokens, and ingest's write keys, come
    from the Secret `nox -s deploy` makes (GATEWAY_PUBLIC is never set by default)."""
    wanted = {
        "gateway": {"GATEWAY_ADMIN_TOKENS", "GATEWAY_READ_TOKENS"},
        "ingest": {"INGEST_WRITE_KEYS"},
    }
    for name, variables in wanted.items():
        (container,) = containers(_ksvc(rendered, name)["spec"]["template"]["spec"])
        from_secret = {
            env["name"]
            for env in container.get("env", [])
            if env.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == TOKENS_SECRET
        }
        assert from_secret == variables, name
        assert "GATEWAY_PUBLIC" not in {env["name"] for env in container.get("env", [])}
