"""Grants, secrets and the key ring's static (environment) grants, without a database."""

from __future__ import annotations

import hashlib

import pytest

from functions.core.events import DEFAULT_SITE, valid_site
from functions.core.sites import (
    Grant,
    KeyRing,
    Scope,
    env_grants,
    new_secret,
    secret_hash,
)


@pytest.mark.parametrize(
    ("grant", "reads", "writes", "administers"),
    [
        (Grant("read", "a"), {"a"}, set(), set()),
        (Grant("write", "a"), set(), {"a"}, set()),
        (Grant("admin", "a"), {"a"}, set(), {"a"}),
        (Grant("admin", None), {"a", "b", DEFAULT_SITE}, set(), {"a", "b", DEFAULT_SITE}),
        # refused by the table's CHECK, and granting nothing should one turn up elsewhere
        (Grant("read", None), set(), set(), set()),
        (Grant("write", None), set(), set(), set()),
    ],
)
def test_grant_allows_its_scope_on_its_site_only(
    grant: Grant, reads: set[str], writes: set[str], administers: set[str]
) -> None:
    for site in ("a", "b", DEFAULT_SITE):
        assert grant.reads(site) is (site in reads), site
        assert grant.writes(site) is (site in writes), site
        assert grant.administers(site) is (site in administers), site


@pytest.mark.parametrize(
    ("scope", "prefix"), [("write", "csw_"), ("read", "csr_"), ("admin", "csa_")]
)
def test_new_secrets_are_prefixed_url_safe_and_256_bit(scope: Scope, prefix: str) -> None:
    made = {new_secret(scope) for _ in range(100)}
    assert len(made) == 100
    for secret in made:
        assert secret.startswith(prefix)
        body = secret.removeprefix(prefix)
        assert len(body) == 43  # 32 bytes in unpadded base64
        assert set(body) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_secret_hash_is_the_sha256_digest() -> None:
    secret = new_secret("read")
    assert secret_hash(secret) == hashlib.sha256(secret.encode()).digest()
    assert len(secret_hash(secret)) == 32
    assert secret_hash(secret) == secret_hash(secret)
    assert secret_hash(secret) != secret_hash(secret + "x")
    assert secret.encode() not in secret_hash(secret)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("default", True),
        ("shop.example.com", True),
        ("a-b.c9", True),
        ("x" * 253, True),
        ("x" * 254, False),
        ("", False),
        ("Shop", False),
        ("a_b", False),
        ("a b", False),
        ("shop\n", False),
        ("café", False),
        ("a/b", False),
    ],
)
def test_valid_site(name: str, valid: bool) -> None:
    assert valid_site(name) is valid


def test_a_ring_grants_its_static_secrets_before_any_load() -> None:
    write, read, admin = new_secret("write"), "r" * 16, "a" * 16
    ring = KeyRing(env_grants({write: "shop"}, [read], [admin]))
    assert ring.grant(write) == Grant("write", "shop")
    assert ring.grant(read) == Grant("read", DEFAULT_SITE)
    assert ring.grant(admin) == Grant("admin", None)
    assert ring.grant(write + "x") is None
    assert ring.grant(write[:-1]) is None
    assert ring.grant("") is None
    assert ring.grant(new_secret("write")) is None


def test_a_ring_fails_closed_until_loaded() -> None:
    """Before its first load a ring cannot tell whether keys exist: it says they do."""
    ring = KeyRing()
    assert not ring.loaded
    assert not ring.empty
    assert ring.any_keys("read", "admin")
    assert ring.registered(DEFAULT_SITE)
    assert not ring.registered("shop")
