"""Every task of the project: `nox -s dev`, `tests`, `lint`, `proto`, `bench`, `deploy`."""

from __future__ import annotations

import os
import shutil

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "tests"]

PROTO_FILE = "proto/clickstream/analytics/v1/analytics.proto"


def install(session: nox.Session) -> None:
    # bench: functions/bench's deps, so lint's mypy and the tests see them too
    session.install("-e", ".[dev,bench]")


@nox.session
def tests(session: nox.Session) -> None:
    """Unit, integration and end-to-end tests against real PostgreSQL, Redis and a broker."""
    install(session)
    dashboard_unit_tests(session)
    session.run("pytest", *session.posargs)


def dashboard_unit_tests(session: nox.Session) -> None:
    """The dashboard's Vitest suite; without npm, skipped locally and failed under CI."""
    if shutil.which("npm") is None:
        message = "npm not found: the dashboard's unit tests need Node.js 20.19+ and npm"
        if os.environ.get("CI"):
            session.error(message)
        session.warn(f"{message}; skipped")
        return
    with session.chdir("dashboard"):
        session.run("npm", "ci", "--no-audit", "--no-fund", external=True)
        session.run("npm", "test", external=True)


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
def bench(session: nox.Session) -> None:
    """Benchmarks on free ports over a fresh database; `-- --quick`, `-- --soak 10m`."""
    install(session)
    session.run("python", "-m", "functions.bench", *session.posargs)


@nox.session
def dev(session: nox.Session) -> None:
    """The whole platform on this machine; a local broker unless KAFKA_BOOTSTRAP_SERVERS."""
    install(session)
    # nox answers Ctrl-C by SIGTERM after 0.3 s, which the stack takes as a second signal
    # (stop at once, losing the topic): wait for its own safe stop instead
    session.run("python", "-m", "functions.dev", *session.posargs, interrupt_timeout=None)


@nox.session
def admin(session: nox.Session) -> None:
    """Operator commands on PostgreSQL and Kafka: `-- dead-letters list|replay ...`."""
    install(session)
    session.run("python", "-m", "functions.admin", *session.posargs)


@nox.session
def deploy(session: nox.Session) -> None:
    """Kind + Knative: cluster if absent, platform, image, apply, wait Ready, print URLs."""
    install(session)
    session.run("python", "-m", "functions.deploy", "up", *session.posargs)


@nox.session
def undeploy(session: nox.Session) -> None:
    """Remove the deployed application; `-- --cluster` deletes the whole Kind cluster."""
    install(session)
    session.run("python", "-m", "functions.deploy", "down", *session.posargs)


@nox.session
def smoke(session: nox.Session) -> None:
    """`nox -s smoke -- INGEST_URL`: events in through ingest, counts out through gateway."""
    install(session)
    session.run("python", "-m", "functions.deploy", "smoke", *session.posargs)
