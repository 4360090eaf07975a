"""The app factory's /readyz against the real database and broker, and against a dead broker."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx

from billing_runtime.app import create_service_app, database_check, kafka_check
from billing_runtime.db import create_engine
from billing_runtime.settings import ServiceSettings


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _readyz(settings: ServiceSettings) -> httpx.Response:
    engine = create_engine(settings, "runtime")
    try:
        app = create_service_app(
            settings, name="probe", checks=[database_check(engine), kafka_check(settings)]
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
            return await client.get("/readyz")
    finally:
        await engine.dispose()


async def test_ready_when_database_and_kafka_answer(settings_factory: Callable[..., ServiceSettings]) -> None:
    response = await _readyz(settings_factory())
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "kafka": "ok"}


async def test_not_ready_names_the_dead_dependency(settings_factory: Callable[..., ServiceSettings]) -> None:
    response = await _readyz(settings_factory(kafka_bootstrap=f"127.0.0.1:{_closed_port()}"))
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["kafka"] != "ok"
