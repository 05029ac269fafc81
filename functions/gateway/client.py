"""The gateway's long-lived gRPC channel to `query`, with deadlines and retries."""

from __future__ import annotations

import json

import grpc
from clickstream.analytics.v1 import analytics_pb2 as pb
from clickstream.analytics.v1 import analytics_pb2_grpc as pb_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from functions.gateway.count_batches import CountBatches

DEADLINE_S = 2.0
# A report (the overview, top pages, time series, breakdowns, visits, goals, funnels, and the
# Plausible Stats API's views of them) reads raw events and visits when filtered or a funnel:
# seconds over a month of a busy site (measured on 2 shared cores, over 1M events: a 30-day
# 4-step funnel ~3 s, a page breakdown filtered by country up to ~4 s). Given the point
# reads' 2 s, it fails where it would have answered; this leaves it time within the
# dashboard's own 8 s.
REPORT_DEADLINE_S = 6.0
# a replay waits for the broker to acknowledge up to 10,000 records (each may take the
# producer's 5 s delivery timeout) before marking them; within Knative's 30 s request timeout
REPLAY_DEADLINE_S = 20.0
# an erasure deletes a person's rows in one transaction: a heavy user's take seconds
ERASE_DEADLINE_S = 30.0
# an export streams for as long as its range takes to send (10M rows: minutes)
EXPORT_DEADLINE_S = 3600.0
_SERVICE = "clickstream.analytics.v1.AnalyticsService"

# gRPC retries UNAVAILABLE itself (query scaling from zero, a pod replaced)
_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{"service": _SERVICE}],
                "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)


class QueryClient:
    def __init__(self, address: str) -> None:
        self.channel = grpc.aio.insecure_channel(
            address,
            options=[("grpc.service_config", _SERVICE_CONFIG), ("grpc.enable_retries", 1)],
        )
        self.stub = pb_grpc.AnalyticsServiceStub(self.channel)  # type: ignore[no-untyped-call]
        self._health = health_pb2_grpc.HealthStub(self.channel)
        self._counts = CountBatches(self.stub, DEADLINE_S)

    async def event_count(self, request: pb.GetEventCountRequest) -> int:
        """One (user, page)'s count, read together with those asked meanwhile."""
        return await self._counts.count(request)

    async def health(self) -> health_pb2.HealthCheckResponse:
        """`query`'s own readiness (grpc.health.v1), SERVING while PostgreSQL answers."""
        request = health_pb2.HealthCheckRequest(service=_SERVICE)
        answer: health_pb2.HealthCheckResponse = await self._health.Check(
            request, timeout=DEADLINE_S
        )
        return answer

    async def close(self) -> None:
        await self.channel.close()
