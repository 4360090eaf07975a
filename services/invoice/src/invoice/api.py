"""HTTP API (formats §5): list invoices, fetch one as JSON or PDF, invoice a closed period now.

Stored bytes are served exactly as issued; their SHA-256 is the ETag, so a client holding
the document gets 304 and a second download is byte-identical to the first.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_core import ContractError, RatingError
from invoice.failures import FailureLog, list_failures
from invoice.inputs import PeriodNotClosedError, UnusableClosedPeriodError
from invoice.issuing import InvoiceIssuer
from invoice.listing import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    InvalidCursorError,
    InvoiceQuery,
    Position,
    decode_cursor,
    encode_cursor,
)
from invoice.records import StoredInvoice
from invoice.store import get_document, search_documents

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_IMMUTABLE = "private, max-age=31536000, immutable"


def _etag_matches(header: str | None, etag: str) -> bool:
    if header is None:
        return False
    candidates = [part.strip() for part in header.split(",")]
    return any(c == "*" or c.removeprefix("W/") == etag for c in candidates)


def _document_response(request: Request, body: bytes | None, sha256: str | None, media_type: str) -> Response:
    if body is None or sha256 is None:
        raise HTTPException(status_code=409, detail="the document is not issued yet")
    etag = f'"{sha256}"'
    headers = {"ETag": etag, "Cache-Control": _IMMUTABLE}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=media_type, headers=headers)


def _check_period(period: str) -> str:
    if not _PERIOD.match(period):
        raise HTTPException(status_code=422, detail=f"period {period!r} is not in YYYY-MM form")
    return period


def invoice_router(engine: AsyncEngine, issuer: InvoiceIssuer, failures: FailureLog) -> APIRouter:
    router = APIRouter(tags=["invoices"])

    async def load(number: str) -> StoredInvoice:
        async with engine.connect() as conn:
            document = await get_document(conn, number)
        if document is None:
            raise HTTPException(status_code=404, detail=f"no invoice or credit note numbered {number!r}")
        return document

    @router.get("/v1/invoices/failures")
    async def invoicing_failures(
        tenant: Annotated[str | None, Query(min_length=1)] = None, include_resolved: bool = False
    ) -> dict[str, Any]:
        """Closed periods that could not be invoiced (open ones; resolved ones too on request)."""
        async with engine.connect() as conn:
            found = await list_failures(conn, tenant_id=tenant, include_resolved=include_resolved)
        await failures.refresh()
        return {"tenant": tenant, "failures": [failure.summary() for failure in found]}

    @router.get("/v1/invoices")
    async def list_invoices(
        tenant: Annotated[str, Query(min_length=1)],
        period: Annotated[str | None, Query()] = None,
        status: Annotated[Literal["draft", "issued"] | None, Query()] = None,
        kind: Annotated[Literal["invoice", "credit_note"] | None, Query()] = None,
        number_prefix: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, Query(min_length=1, max_length=2000)] = None,
    ) -> dict[str, Any]:
        """A tenant's invoices and credit notes in (period, number) order, ``limit`` at a time;
        ``next_cursor`` (null on the last page) asks for the page after."""
        if period is not None:
            _check_period(period)
        try:
            after = None if cursor is None else decode_cursor(cursor)
        except InvalidCursorError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        query = InvoiceQuery(tenant, period, status, kind, number_prefix, after, limit + 1)
        async with engine.connect() as conn:
            documents = await search_documents(conn, query)
        page = documents[:limit]
        more = len(documents) > limit
        return {
            "tenant": tenant,
            "period": period,
            "invoices": [d.summary() for d in page],
            "next_cursor": encode_cursor(Position(page[-1].period, page[-1].number)) if more else None,
        }

    @router.get("/v1/invoices/{number}.pdf", response_class=Response)
    async def invoice_pdf(number: str, request: Request) -> Response:
        document = await load(number)
        return _document_response(request, document.pdf_body, document.pdf_sha256, "application/pdf")

    @router.get("/v1/invoices/{number}", response_class=Response)
    async def invoice_json(number: str, request: Request) -> Response:
        document = await load(number)
        return _document_response(request, document.json_body, document.json_sha256, "application/json")

    @router.post("/v1/periods/{tenant}/{period}/invoice")
    async def invoice_closed_period(tenant: str, period: str, response: Response) -> dict[str, Any]:
        """Issue a closed period's invoice now (normally triggered by billing.period.closed.v1)."""
        _check_period(period)
        try:
            outcome = await issuer.invoice_period(tenant, period)
        except PeriodNotClosedError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        except (ContractError, RatingError, UnusableClosedPeriodError) as exc:
            await failures.record(exc, tenant_id=tenant, period=period)
            raise HTTPException(status_code=422, detail=str(exc)) from None
        response.status_code = 201 if outcome.created else 200
        return outcome.invoice.summary()

    return router
