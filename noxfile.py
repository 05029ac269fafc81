"""Every task of the project: `nox -s dev`, `tests`, `lint`, `proto`, `bench`, `deploy`."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "tests"]

PROTO_FILE = "proto/clickstream/analytics/v1/analytics.proto"


def install(session: nox.Session) -> None:
    session.install("-e", ".[dev]")


@nox.session
def tests(session: nox.Session) -> None:
    """Unit, integration and end-to-end tests against real PostgreSQL, Redis and a broker."""
    install(session)
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy, both clean."""
    install(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session
def proto(session: nox.Session) -> None:
    """Regenerate the Python stubs beside the .proto files (committed, marked generated)."""
    session.install("grpcio-tools==1.85.1")
    session.run(
        "python",
        "-m",
        "grpc_tools.protoc",
        "-Iproto",
        "--python_out=proto",
        "--pyi_out=proto",
        "--grpc_python_out=proto",
        PROTO_FILE,
    )


@nox.session
def dev(session: nox.Session) -> None:
    """The whole platform on this machine; a local broker unless KAFKA_BOOTSTRAP_SERVERS."""
    install(session)
    session.run("python", "-m", "functions.dev", *session.posargs)
