"""The one reader of the environment: a frozen `Settings` passed down to every stage."""

from __future__ import annotations

import functools
import ipaddress
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from functions.core.errors import ConfigError, InvalidArgument
from functions.core.events import site_argument

SOURCE_DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "dashboard" / "dist"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PORTS = {"ingest": 8080, "gateway": 8081, "process": 8082, "query": 50051}
DEFAULT_METRICS_PORTS = {
    "ingest": 9464,
    "gateway": 9465,
    "process": 9466,
    "query": 9467,
    "dispatcher": 9468,
}


@dataclass(frozen=True, slots=True)
class DeliveryOverrides:
    """What the environment changes in the delivery rules the local dispatcher reads from
    the KafkaSource manifests (functions/dev/sources.py); None keeps the manifest's."""

    retry: int | None = None
    backoff_policy: Literal["exponential", "linear"] | None = None
    backoff_delay_s: float | None = None
    timeout_s: float | None = None
    ordering: Literal["ordered", "unordered"] | None = None
    max_poll_records: int | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    service: str
    port: int
    metrics_port: int
    kafka_bootstrap_servers: str
    kafka_topic: str
    database_url: str
    redis_url: str
    query_addr: str
    cache_ttl_s: int
    db_pool_max: int
    process_url: str
    dead_letter_topic: str
    delivery_overrides: DeliveryOverrides
    consumer_group: str
    ingest_write_keys: Mapping[str, str]
    cors_origins: tuple[str, ...]
    gateway_read_tokens: frozenset[str]
    gateway_cache_entries: int
    dashboard_dir: Path
    gateway_admin_tokens: frozenset[str]
    # ingest's enrichment (DESIGN.md: "Sites and enrichment", functions/ingest/enrich.py)
    ingest_enrichment: bool
    ingest_trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    ingest_country_header: str | None
    # events of sites not registered by an operator are dropped (outcome `unknown_site`)
    sites_require_registration: bool
    # the key of erasure records' keyed hash of the user id (functions/core/erasure.py);
    # None: erasures are recorded without one
    erasure_hash_key: bytes | None
    # the reports are meant for anyone: open without a token (admin and personal routes
    # never are); on the cluster, the gateway starts without a token only so
    gateway_public: bool
    # Knative sets K_SERVICE in every revision's container: the deployed installation
    on_cluster: bool


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(name, f"must be between {low} and {high}, got {value}")
    return value


def _optional_int(env: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    return _int(env, name, 0, low, high) if env.get(name) else None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"must be a number, got {raw!r}") from None
    if value < 0:
        raise ConfigError(name, f"must not be negative, got {value}")
    return value


def _url(env: Mapping[str, str], name: str, value: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(name, f"must be a {'/'.join(schemes)} URL, got {value!r}")
    return value


def _redis_url(env: Mapping[str, str]) -> str:
    if env.get("REDIS_URL"):
        return _url(env, "REDIS_URL", env["REDIS_URL"], ("redis", "rediss", "unix"))
    if env.get("REDIS_ADDR"):
        return f"redis://{env['REDIS_ADDR']}/0"
    if env.get("REDIS_HOST"):
        port = _int(env, "REDIS_PORT", 6379, 1, 65535)
        return f"redis://{env['REDIS_HOST']}:{port}/0"
    return DEFAULT_REDIS_URL


def _write_keys(env: Mapping[str, str]) -> dict[str, str]:
    """`INGEST_WRITE_KEYS=key1,key2:shop.example`: each key and the site its events land in
    (`default` when the entry names none)."""
    keys: dict[str, str] = {}
    for entry in filter(
        None, (part.strip() for part in env.get("INGEST_WRITE_KEYS", "").split(","))
    ):
        key, _, site = entry.partition(":")
        if len(key) < 16:
            raise ConfigError(
                "INGEST_WRITE_KEYS", "entries must be key or key:site with keys of 16+ characters"
            )
        try:
            keys[key] = site_argument(site, "INGEST_WRITE_KEYS")
        except InvalidArgument as error:
            raise ConfigError("INGEST_WRITE_KEYS", f"site {site!r} {error.message}") from None
    return keys


def _tokens(env: Mapping[str, str], name: str) -> frozenset[str]:
    """`GATEWAY_READ_TOKENS=token1,token2` (or `GATEWAY_ADMIN_TOKENS`): once any token is
    set, every API read needs a read or admin token, and admin routes an admin token."""
    tokens = frozenset(filter(None, (t.strip() for t in env.get(name, "").split(","))))
    if any(len(token) < 16 for token in tokens):
        raise ConfigError(name, "tokens must be at least 16 characters")
    return tokens


def _secret(env: Mapping[str, str], name: str) -> bytes | None:
    """A key of 16+ characters, or None when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if len(raw) < 16:
        raise ConfigError(name, "must be at least 16 characters")
    return raw.encode()


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    origins = tuple(filter(None, (o.strip().rstrip("/") for o in env.get(name, "").split(","))))
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ConfigError(name, f"origins must be * or http(s)://host[:port], got {origin!r}")
    return origins


# loopback and private ranges: how Knative's ingress (and a local proxy) reaches the pod
DEFAULT_TRUSTED_PROXIES = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("on", "true", "1", "yes"):
        return True
    if raw in ("off", "false", "0", "no"):
        return False
    raise ConfigError(name, f"must be on or off, got {raw!r}")


def _networks(
    env: Mapping[str, str], name: str, default: str
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """`INGEST_TRUSTED_PROXIES=10.0.0.0/8,fc00::/7`: the peers whose `X-Forwarded-For` is
    believed; empty (set to nothing) believes none."""
    raw = env.get(name)
    entries = filter(None, (part.strip() for part in (default if raw is None else raw).split(",")))
    try:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
    except ValueError as error:
        raise ConfigError(name, f"must be comma-separated CIDRs: {error}") from None


def _header_name(env: Mapping[str, str], name: str) -> str | None:
    """An HTTP header name (`INGEST_COUNTRY_HEADER=CF-IPCountry`), lower-cased as read."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in raw):
        raise ConfigError(name, f"must be an HTTP header name, got {raw!r}")
    return raw.lower()


def _delivery_overrides(env: Mapping[str, str]) -> DeliveryOverrides:
    """`DELIVERY_*`: changes to the local dispatcher's rules (tests shorten the retry
    budget); unset, the dispatcher runs what the manifests say."""
    ordering = env.get("DELIVERY_ORDERING") or None
    if ordering not in (None, "ordered", "unordered"):
        raise ConfigError("DELIVERY_ORDERING", f"must be ordered or unordered, got {ordering!r}")
    policy = env.get("DELIVERY_BACKOFF_POLICY") or None
    if policy not in (None, "exponential", "linear"):
        raise ConfigError(
            "DELIVERY_BACKOFF_POLICY", f"must be exponential or linear, got {policy!r}"
        )
    delay = env.get("DELIVERY_BACKOFF_DELAY_SECONDS")
    timeout = env.get("DELIVERY_TIMEOUT_SECONDS")
    return DeliveryOverrides(
        # the manifests' values where a variable is unset
        retry=_optional_int(env, "DELIVERY_RETRY", 0, 10_000),
        backoff_policy=None
        if policy is None
        else "linear"
        if policy == "linear"
        else "exponential",
        backoff_delay_s=_float(env, "DELIVERY_BACKOFF_DELAY_SECONDS", 0) if delay else None,
        timeout_s=_float(env, "DELIVERY_TIMEOUT_SECONDS", 0) if timeout else None,
        ordering=None
        if ordering is None
        else ("ordered" if ordering == "ordered" else "unordered"),
        max_poll_records=_optional_int(env, "DELIVERY_MAX_POLL_RECORDS", 1, 10_000),
    )


def load_settings(service: str, env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings of `service` from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    port = _int(env, "PORT", DEFAULT_PORTS.get(service, 8080), 1, 65535)
    process_url = env.get("PROCESS_URL", f"http://127.0.0.1:{DEFAULT_PORTS['process']}/")
    return Settings(
        service=service,
        port=port,
        metrics_port=_int(env, "METRICS_PORT", DEFAULT_METRICS_PORTS.get(service, 9464), 0, 65535),
        kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS") or env.get("KAFKA_BROKER", ""),
        kafka_topic=env.get("KAFKA_TOPIC", "clicks"),
        database_url=_url(
            env,
            "DATABASE_URL",
            env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            ("postgresql", "postgres"),
        ),
        redis_url=_redis_url(env),
        query_addr=env.get("QUERY_ADDR", f"127.0.0.1:{DEFAULT_PORTS['query']}"),
        cache_ttl_s=_int(env, "CACHE_TTL_SECONDS", 300, 1, 86400),
        db_pool_max=_int(env, "DB_POOL_MAX", 8, 1, 512),
        process_url=_url(env, "PROCESS_URL", process_url, ("http", "https")),
        # the cluster's KafkaSink topic is `clicks-dead-letters` (knative/eventing/)
        dead_letter_topic=env.get("DEAD_LETTER_TOPIC")
        or env.get("KAFKA_TOPIC", "clicks") + "-dead-letters",
        delivery_overrides=_delivery_overrides(env),
        consumer_group=env.get("CONSUMER_GROUP", "clickstream-process"),
        ingest_write_keys=_write_keys(env),
        cors_origins=_origins(env, "CORS_ALLOWED_ORIGINS"),
        gateway_read_tokens=_tokens(env, "GATEWAY_READ_TOKENS"),
        # counts the gateway holds itself (functions/gateway/local_counts.py); 0 turns it off
        gateway_cache_entries=_int(env, "GATEWAY_CACHE_ENTRIES", 100_000, 0, 10_000_000),
        # the image puts the built assets elsewhere (Dockerfile); a checkout has them here
        dashboard_dir=Path(env.get("DASHBOARD_DIR") or SOURCE_DASHBOARD_DIR),
        gateway_admin_tokens=_tokens(env, "GATEWAY_ADMIN_TOKENS"),
        # off: no browser/os/device/country/referrer_host/utm_*, and no bot filtering
        ingest_enrichment=_switch(env, "INGEST_ENRICHMENT", True),
        ingest_trusted_proxies=_networks(env, "INGEST_TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES),
        ingest_country_header=_header_name(env, "INGEST_COUNTRY_HEADER"),
        sites_require_registration=_switch(env, "SITES_REQUIRE_REGISTRATION", False),
        erasure_hash_key=_secret(env, "ERASURE_HASH_KEY"),
        gateway_public=_switch(env, "GATEWAY_PUBLIC", False),
        on_cluster=bool(env.get("K_SERVICE")),
    )


def fails_fast(main: Callable[[], None]) -> Callable[[], None]:
    """Turn a configuration error at start-up into one line naming the variable, exit 2."""

    @functools.wraps(main)
    def guarded() -> None:
        try:
            main()
        except ConfigError as error:
            sys.exit(f"configuration error: {error}")

    return guarded


def require_gateway_tokens(settings: Settings) -> None:
    """On the cluster, a gateway with no token would serve every site's reports and the
    dead letters to anyone: refuse to start, unless GATEWAY_PUBLIC=true says the reports
    are meant to be public (admin routes then answer no one)."""
    tokens = settings.gateway_read_tokens | settings.gateway_admin_tokens
    if settings.on_cluster and not tokens and not settings.gateway_public:
        raise ConfigError(
            "GATEWAY_ADMIN_TOKENS",
            "no GATEWAY_ADMIN_TOKENS or GATEWAY_READ_TOKENS on the cluster: set one (the"
            " Secret clickstream-tokens), or GATEWAY_PUBLIC=true for public reports",
        )


def require_kafka(settings: Settings) -> str:
    """The bootstrap servers, or a one-line start-up failure naming the variable."""
    if not settings.kafka_bootstrap_servers:
        raise ConfigError("KAFKA_BOOTSTRAP_SERVERS", "must be set (host:port[,host:port])")
    return settings.kafka_bootstrap_servers
