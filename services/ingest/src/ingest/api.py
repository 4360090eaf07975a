"""HTTP routes of the ingest service: POST /v1/events and GET /v1/usage."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_core.periods import Period
from ingest.intake import Intake
from ingest.rejections import InvalidEvent, Reason
from ingest.usage_reads import tenant_period_usage

EVENTS_DESCRIPTION = """One CloudEvent (`application/cloudevents+json`) or a batch
(`application/cloudevents-batch+json`, a JSON array). The answer lists every event as accepted,
duplicate or rejected (with reason and detail). Status: 200 when none was rejected, 207 when some
were, 400 when all were (or the body itself is unusable), 413 when the body is too large."""


def _status(results: list[dict[str, Any]]) -> int:
    rejected = sum(1 for result in results if result["status"] == "rejected")
    if rejected == 0:
        return 200
    return 400 if rejected == len(results) else 207


def build_router(intake: Intake, engine: AsyncEngine, max_request_bytes: int) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/events", description=EVENTS_DESCRIPTION, tags=["usage"])
    async def post_events(request: Request) -> JSONResponse:
        body = await _read_limited(request, max_request_bytes)
        try:
            results = [
                result.as_json()
                for result in await intake.from_http(body, request.headers.get("content-type"))
            ]
        except InvalidEvent as error:
            status = 415 if error.reason is Reason.UNSUPPORTED_CONTENT_TYPE else 400
            return JSONResponse({"error": error.reason.value, "detail": error.detail}, status_code=status)
        counts = {
            status: sum(1 for r in results if r["status"] == status)
            for status in ("accepted", "duplicate", "rejected")
        }
        return JSONResponse({**counts, "results": results}, status_code=_status(results))

    @router.get("/v1/usage", tags=["usage"])
    async def get_usage(
        tenant: Annotated[str, Query(min_length=1)], period: Annotated[str, Query()]
    ) -> dict[str, Any]:
        try:
            Period.parse(period)
        except ValueError as error:
            raise HTTPException(status_code=422, detail=str(error)) from None
        return await tenant_period_usage(engine, tenant, period)

    return router


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail=f"request body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail=f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def install_routes(app: FastAPI, intake: Intake, engine: AsyncEngine, max_request_bytes: int) -> None:
    app.include_router(build_router(intake, engine, max_request_bytes))
