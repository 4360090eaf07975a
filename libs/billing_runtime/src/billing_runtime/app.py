"""FastAPI app factory: the endpoints every service must serve, plus per-app Prometheus metrics.

``/healthz`` says the process is alive, ``/readyz`` runs the service's readiness checks (its database
and Kafka by default), ``/metrics`` renders the app's own ``CollectorRegistry``. Each app gets a fresh
registry, so several apps (or tests) in one process never share or collide on metric state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.db import ping
from billing_runtime.readiness import probe_kafka
from billing_runtime.settings import ServiceSettings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
READINESS_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class ReadinessCheck:
    """A named dependency probe; it raises when the dependency is not usable."""

    name: str
    probe: Callable[[], Awaitable[None]]


def database_check(engine: AsyncEngine) -> ReadinessCheck:
    async def probe() -> None:
        await ping(engine)

    return ReadinessCheck("database", probe)


def kafka_check(settings: ServiceSettings) -> ReadinessCheck:
    async def probe() -> None:
        await probe_kafka(settings.kafka_bootstrap, timeout=READINESS_TIMEOUT_SECONDS)

    return ReadinessCheck("kafka", probe)


async def _run_check(check: ReadinessCheck) -> str | None:
    try:
        await asyncio.wait_for(check.probe(), READINESS_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"no answer within {READINESS_TIMEOUT_SECONDS:g}s"
    except Exception as exc:  # any failure means "not ready"; the message tells the operator why
        return f"{type(exc).__name__}: {exc}"
    return None


def _install_http_metrics(app: FastAPI, registry: CollectorRegistry, service: str) -> None:
    requests = Counter(
        "http_requests_total",
        "HTTP requests handled",
        ["service", "method", "route", "status"],
        registry=registry,
    )
    latency = Histogram(
        "http_request_duration_seconds",
        "HTTP request latency",
        ["service", "method", "route"],
        registry=registry,
    )

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = getattr(request.scope.get("route"), "path", "unmatched")
            requests.labels(service, request.method, route, str(status)).inc()
            latency.labels(service, request.method, route).observe(time.perf_counter() - started)


def create_service_app(
    settings: ServiceSettings,
    *,
    name: str,
    checks: Sequence[ReadinessCheck] = (),
    lifespan: Lifespan | None = None,
    version: str = "0.1.0",
) -> FastAPI:
    """A FastAPI app with /healthz, /readyz and /metrics; services add their routers to it.

    ``app.state.settings`` holds the settings and ``app.state.metrics`` the app's registry, on which
    the service registers its own metrics.
    """
    app = FastAPI(title=f"billing {name}", version=version, lifespan=lifespan)
    registry = CollectorRegistry()
    app.state.settings = settings
    app.state.metrics = registry
    app.state.readiness_checks = tuple(checks)
    _install_http_metrics(app, registry, name)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "alive", "service": name}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        current: tuple[ReadinessCheck, ...] = app.state.readiness_checks
        failures = await asyncio.gather(*(_run_check(check) for check in current))
        results = {check.name: failure or "ok" for check, failure in zip(current, failures, strict=True)}
        ready = all(failure is None for failure in failures)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "service": name, "checks": results},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", tags=["operations"])
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
