"""The app factory's operational endpoints, with stand-in readiness probes (no services needed)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from billing_runtime.app import ReadinessCheck, create_service_app
from billing_runtime.settings import ServiceSettings


async def _ok() -> None:
    return None


async def _down() -> None:
    raise ConnectionRefusedError("connection refused on 127.0.0.1:1")


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")


async def test_healthz_and_readyz() -> None:
    app = create_service_app(ServiceSettings(), name="ingest", checks=[ReadinessCheck("database", _ok)])
    async with _client(app) as client:
        assert (await client.get("/healthz")).json() == {"status": "alive", "service": "ingest"}
        ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}


async def test_readyz_reports_each_failing_dependency() -> None:
    checks = [ReadinessCheck("database", _ok), ReadinessCheck("kafka", _down)]
    app = create_service_app(ServiceSettings(), name="rating", checks=checks)
    async with _client(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert "ConnectionRefusedError" in body["checks"]["kafka"]


async def test_each_app_has_its_own_metrics_registry() -> None:
    first = create_service_app(ServiceSettings(), name="first")
    second = create_service_app(ServiceSettings(), name="second")
    async with _client(first) as client:
        await client.get("/healthz")
        await client.get("/healthz")
        first_metrics = (await client.get("/metrics")).text
    async with _client(second) as client:
        second_metrics = (await client.get("/metrics")).text
    sample = 'http_requests_total{method="GET",route="/healthz",service="first",status="200"} 2.0'
    assert sample in first_metrics
    assert 'service="first"' not in second_metrics
    assert first.state.metrics is not second.state.metrics
