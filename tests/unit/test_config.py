from __future__ import annotations

import pytest

from functions.core.config import load_settings, require_gateway_tokens, require_kafka
from functions.core.errors import ConfigError


def test_local_defaults() -> None:
    settings = load_settings("ingest", {})
    assert settings.port == 8080
    assert settings.kafka_topic == "clicks"
    assert settings.database_url.startswith("postgresql://")


def test_aliases() -> None:
    settings = load_settings(
        "query", {"KAFKA_BROKER": "k:9092", "REDIS_HOST": "r", "REDIS_PORT": "7000"}
    )
    assert settings.kafka_bootstrap_servers == "k:9092"
    assert settings.redis_url == "redis://r:7000/0"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://r"}, "REDIS_URL"),
        ({"DELIVERY_ORDERING": "random"}, "DELIVERY_ORDERING"),
        ({"INGEST_WRITE_KEYS": "k-0123456789abcdef:my shop"}, "INGEST_WRITE_KEYS"),
        ({"INGEST_WRITE_KEYS": "k-0123456789abcdef:boutique-é"}, "INGEST_WRITE_KEYS"),
        ({"GATEWAY_ADMIN_TOKENS": "admin-0123456789abcdef,short"}, "GATEWAY_ADMIN_TOKENS"),
        ({"INGEST_ENRICHMENT": "maybe"}, "INGEST_ENRICHMENT"),
        ({"INGEST_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}, "INGEST_TRUSTED_PROXIES"),
        ({"INGEST_COUNTRY_HEADER": "CF IPCountry"}, "INGEST_COUNTRY_HEADER"),
        ({"ERASURE_HASH_KEY": "too-short"}, "ERASURE_HASH_KEY"),
    ],
)
def test_misconfiguration_names_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings("gateway", env)
    assert caught.value.variable == variable


def test_kafka_required_where_used() -> None:
    with pytest.raises(ConfigError) as caught:
        require_kafka(load_settings("ingest", {}))
    assert caught.value.variable == "KAFKA_BOOTSTRAP_SERVERS"


def test_enrichment_settings() -> None:
    defaults = load_settings("ingest", {})
    assert defaults.ingest_enrichment
    assert [str(n) for n in defaults.ingest_trusted_proxies] == [
        "127.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
    ]
    assert defaults.ingest_country_header is None
    chosen = load_settings(
        "ingest",
        {
            "INGEST_ENRICHMENT": "off",
            "INGEST_TRUSTED_PROXIES": " 100.64.0.0/10 , 2001:db8::/32",
            "INGEST_COUNTRY_HEADER": "CF-IPCountry",
        },
    )
    assert not chosen.ingest_enrichment
    assert [str(n) for n in chosen.ingest_trusted_proxies] == ["100.64.0.0/10", "2001:db8::/32"]
    assert chosen.ingest_country_header == "cf-ipcountry"
    assert load_settings("ingest", {"INGEST_TRUSTED_PROXIES": ""}).ingest_trusted_proxies == ()


@pytest.mark.parametrize(
    "env",
    [
        {},  # locally (no K_SERVICE) an open gateway is the default of `nox -s dev`
        {"K_SERVICE": "gateway", "GATEWAY_READ_TOKENS": "read-0123456789abcdef"},
        {"K_SERVICE": "gateway", "GATEWAY_ADMIN_TOKENS": "admin-0123456789abcdef"},
        {"K_SERVICE": "gateway", "GATEWAY_PUBLIC": "true"},
    ],
)
def test_gateway_tokens_allowed(env: dict[str, str]) -> None:
    require_gateway_tokens(load_settings("gateway", env))


def test_gateway_on_the_cluster_without_a_token_refuses_to_start() -> None:
    with pytest.raises(ConfigError) as caught:
        require_gateway_tokens(load_settings("gateway", {"K_SERVICE": "gateway"}))
    assert caught.value.variable == "GATEWAY_ADMIN_TOKENS"
    assert "GATEWAY_PUBLIC=true" in str(caught.value)


def test_gateway_public_is_a_switch() -> None:
    assert not load_settings("gateway", {}).gateway_public
    assert load_settings("gateway", {"GATEWAY_PUBLIC": "true"}).gateway_public
    with pytest.raises(ConfigError) as caught:
        load_settings("gateway", {"GATEWAY_PUBLIC": "perhaps"})
    assert caught.value.variable == "GATEWAY_PUBLIC"
