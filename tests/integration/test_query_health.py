"""query's standard services: reflection lists the API; health follows PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import pytest
from clickstream.analytics.v1 import analytics_pb2 as pb
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from functions.dev.ports import free_port
from tests.fixtures.query_server import SERVICE, health, running_query

pytestmark = pytest.mark.integration


def test_reflection_lists_the_service_and_health_is_serving(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    with (
        running_query(env, tmp_path / "query.log") as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        [answer] = list(stub.ServerReflectionInfo(iter([request]), timeout=5))
        names = {s.name for s in answer.list_services_response.service}
        assert {SERVICE, "grpc.health.v1.Health"} <= names
        assert health(server.address) == health_pb2.HealthCheckResponse.SERVING
        assert health(server.address, "") == health_pb2.HealthCheckResponse.SERVING


def test_postgresql_down_is_not_serving_and_unavailable(redis_url: str, tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/postgres",
        "REDIS_URL": redis_url,
    }
    not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
    with (
        running_query(env, tmp_path / "query.log", expect=not_serving) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        # a site of its own: nothing in the shared Redis can answer for it
        request = pb.GetOverviewRequest(site=f"down-{uuid.uuid4().hex[:8]}")
        with pytest.raises(grpc.RpcError) as raised:
            server.stub(channel).GetOverview(request, timeout=15)
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        # the dependency's name, never the driver's words (its host and port)
        assert raised.value.details() == "postgresql is unavailable"
