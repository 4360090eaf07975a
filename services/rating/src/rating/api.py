"""HTTP endpoints of the rating service (formats §5).

Who made a change and why come from the ``X-Actor`` and ``X-Change-Reason`` headers; a JSON
pricing version may instead carry ``actor`` and ``reason`` fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from billing_core import Period
from billing_io.contract_yaml import ContractSyntaxError, dump_contract_yaml, parse_contract_text
from rating.contracts import Author, ChangeResult, ContractService, settings_view
from rating.dashboard import DashboardService
from rating.errors import InvalidInput, RatingServiceError
from rating.period_close import PeriodCloser
from rating.pricing_preview import PricingPreview
from rating.records import ClosedPeriod, ConfigRevision

UNKNOWN_ACTOR = "unknown"


@dataclass(frozen=True)
class RatingApi:
    contracts: ContractService
    dashboard: DashboardService
    closer: PeriodCloser
    preview: PricingPreview


def _period(text: str, name: str = "period") -> Period:
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise InvalidInput(str(exc), path=name) from exc


def _format_of(content_type: str | None) -> str | None:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind.endswith("json"):
        return "json"
    if kind.endswith("yaml") or kind.endswith("yml"):
        return "yaml"
    return None


async def _body(request: Request, source: str) -> Mapping[str, Any]:
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{source}: the body is not UTF-8 text") from exc
    if not text.strip():
        raise InvalidInput(f"{source}: the body is empty")
    try:
        return parse_contract_text(text, source, _format_of(request.headers.get("content-type")))
    except ContractSyntaxError as exc:
        raise InvalidInput(str(exc), line=exc.line, column=exc.column) from exc


def _author(actor: str | None, reason: str | None, body: Mapping[str, Any] | None = None) -> Author:
    body = body or {}
    return Author(
        actor=str(actor or body.get("actor") or UNKNOWN_ACTOR),
        reason=str(reason or body.get("reason") or ""),
    )


def revision_data(revision: ConfigRevision, effect: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    data = {
        "revision": revision.revision,
        "kind": revision.kind,
        "actor": revision.actor,
        "reason": revision.reason,
        "recorded_at": revision.recorded_at.isoformat(),
        "site": revision.site_id,
        "effective_from": revision.effective_from.isoformat() if revision.effective_from else None,
        "changes": revision.changes,
    }
    if effect is not None:
        data["effect"] = effect
    return data


def _change_response(result: ChangeResult, created: bool = False) -> JSONResponse:
    if result.revision is None:
        return JSONResponse(
            {"tenant": result.tenant.tenant_id, "revision": result.tenant.revision, "unchanged": True}
        )
    body = {"tenant": result.tenant.tenant_id, "unchanged": False, **revision_data(result.revision)}
    return JSONResponse(body, status_code=201 if created else 200)


def closed_data(closed: ClosedPeriod, already_closed: bool | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "tenant": closed.tenant_id,
        "period": closed.period,
        "closed_at": closed.closed_at.isoformat(),
        "closed_by": closed.closed_by,
        "config_revision": closed.revision,
        "high_water": closed.high_water,
        "settings": closed.settings.to_data(),
        "contract": closed.contract,
    }
    if already_closed is not None:
        data["already_closed"] = already_closed
    return data


def build_router(api: RatingApi) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["rating"])

    @router.put("/contracts/{tenant}")
    async def put_contract(
        tenant: str,
        request: Request,
        x_actor: str | None = Header(default=None),
        x_change_reason: str | None = Header(default=None),
    ) -> JSONResponse:
        source = f"contract for {tenant}"
        data = await _body(request, source)
        existed = (await api.contracts.tenant_state(tenant)) is not None
        result = await api.contracts.put_contract(tenant, data, source, _author(x_actor, x_change_reason))
        return _change_response(result, created=not existed)

    @router.get("/contracts/{tenant}")
    async def get_contract(tenant: str, period: str | None = Query(default=None)) -> dict[str, Any]:
        if period is not None:
            return await api.contracts.contract_for_period(tenant, _period(period))
        state, _ = await api.contracts.contract(tenant)
        return {"tenant": tenant, "revision": state.revision, "contract": state.contract}

    @router.get("/contracts/{tenant}/history")
    async def history(tenant: str) -> dict[str, Any]:
        revisions = await api.contracts.history(tenant)
        return {"tenant": tenant, "revisions": [revision_data(r, effect) for r, effect in revisions]}

    @router.get("/contracts/{tenant}/export")
    async def export(tenant: str) -> PlainTextResponse:
        _, contract = await api.contracts.contract(tenant)
        return PlainTextResponse(dump_contract_yaml(contract), media_type="application/yaml")

    @router.post("/contracts/{tenant}/sites/{site}/pricing")
    async def add_pricing(
        tenant: str,
        site: str,
        request: Request,
        x_actor: str | None = Header(default=None),
        x_change_reason: str | None = Header(default=None),
    ) -> JSONResponse:
        body = dict(await _body(request, f"pricing version for {tenant}/{site}"))
        author = _author(x_actor, x_change_reason, body)
        version = {key: value for key, value in body.items() if key not in ("actor", "reason")}
        result = await api.contracts.add_site_version(tenant, site, version, author)
        return _change_response(result, created=True)

    @router.post("/contracts/{tenant}/sites/{site}/pricing/preview")
    async def preview(
        tenant: str, site: str, request: Request, periods: int = Query(default=3)
    ) -> dict[str, Any]:
        body = dict(await _body(request, f"proposed version for {tenant}/{site}"))
        version = {
            key: value for key, value in body.items() if key not in ("actor", "reason", "effective_from")
        }
        return await api.preview.preview(tenant, site, version, periods)

    @router.get("/tenants/{tenant}/settings")
    async def get_settings(tenant: str) -> dict[str, Any]:
        return await api.contracts.settings(tenant)

    @router.put("/tenants/{tenant}/settings")
    async def put_settings(
        tenant: str,
        request: Request,
        x_actor: str | None = Header(default=None),
        x_change_reason: str | None = Header(default=None),
    ) -> dict[str, Any]:
        body = dict(await _body(request, f"settings for {tenant}"))
        author = _author(x_actor, x_change_reason, body)
        values = {key: value for key, value in body.items() if key not in ("actor", "reason")}
        result = await api.contracts.put_settings(tenant, values, author)
        return settings_view(result.tenant)

    @router.get("/dashboard")
    async def dashboard(tenant: str, period: str | None = Query(default=None)) -> Response:
        # The view is JSON text already (a current snapshot's stored text, or a fresh figure's).
        text = await api.dashboard.view(tenant, _period(period) if period else None)
        return Response(text, media_type="application/json")

    @router.post("/periods/{tenant}/{period}/close")
    async def close(tenant: str, period: str, x_actor: str | None = Header(default=None)) -> JSONResponse:
        result = await api.closer.close(tenant, _period(period), actor=x_actor or UNKNOWN_ACTOR)
        return JSONResponse(
            closed_data(result.closed, result.already_closed),
            status_code=200 if result.already_closed else 201,
        )

    @router.get("/periods/{tenant}/{period}")
    async def closed_period(tenant: str, period: str) -> dict[str, Any]:
        return closed_data(await api.closer.closed(tenant, _period(period)))

    @router.get("/periods/{tenant}")
    async def closed_periods(tenant: str) -> dict[str, Any]:
        return {"tenant": tenant, "closed": await api.closer.closed_periods(tenant)}

    return router


def install(app: FastAPI, api: RatingApi) -> None:
    app.include_router(build_router(api))

    @app.exception_handler(RatingServiceError)
    async def refused(_: Request, exc: RatingServiceError) -> JSONResponse:
        return JSONResponse(exc.to_data(), status_code=exc.status)
