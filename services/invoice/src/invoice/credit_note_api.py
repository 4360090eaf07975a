"""HTTP API of credit notes: issue one against an invoice, list an invoice's, fetch one as JSON or PDF.

Issuing answers 201 with the stored credit note JSON (the bytes later downloads return), or 200
with the same bytes when a request repeats an Idempotency-Key that already issued one;
a request that would give back more than the invoice billed is a 409 conflict, a malformed
one a 422. Who asked is taken from the X-Actor header and kept in the audit trail.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_core import CreditLimitError, CreditNoteError, currency_of, format_amount
from invoice.api import _document_response
from invoice.credit_note_request import CreditRequestError, parse_credit_request
from invoice.crediting import CreditNoteIssuer, DocumentNotFoundError
from invoice.ledger_rebuild import load_invoice_json
from invoice.records import StoredInvoice
from invoice.store import audit_entries, credit_notes_of, get_document

_CREDIT_NOTE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["reason"],
                    "properties": {
                        "reason": {"type": "string", "minLength": 1, "maxLength": 500},
                        "sites": {
                            "type": "array",
                            "description": "Sites to credit: an id reverses every billed line of the "
                            "site, {site, amount} gives back that amount. Absent: every site not "
                            "credited before, in full.",
                            "items": {
                                "oneOf": [
                                    {"type": "string"},
                                    {
                                        "type": "object",
                                        "required": ["site"],
                                        "properties": {
                                            "site": {"type": "string"},
                                            "amount": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$"},
                                        },
                                    },
                                ]
                            },
                        },
                    },
                }
            }
        },
    }
}


def credit_note_router(engine: AsyncEngine, creditor: CreditNoteIssuer) -> APIRouter:
    router = APIRouter(tags=["credit notes"])

    async def load_credit_note(number: str) -> StoredInvoice:
        async with engine.connect() as conn:
            document = await get_document(conn, number)
        if document is None or document.kind != "credit_note":
            raise HTTPException(status_code=404, detail=f"no credit note numbered {number!r}")
        return document

    @router.post(
        "/v1/invoices/{number}/credit-notes",
        status_code=201,
        response_class=Response,
        openapi_extra=_CREDIT_NOTE_BODY,
    )
    async def issue_credit_note(
        number: str,
        request: Request,
        x_actor: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> Response:
        try:
            credit_request = parse_credit_request(await request.body(), x_actor, idempotency_key)
            outcome = await creditor.credit(number, credit_request)
        except DocumentNotFoundError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None
        except CreditLimitError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        except (CreditRequestError, CreditNoteError) as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        stored = outcome.credit_note
        return Response(
            content=stored.json_body,
            status_code=201 if outcome.created else 200,
            media_type="application/json",
            headers={"ETag": f'"{stored.json_sha256}"', "Location": f"/v1/credit-notes/{stored.number}"},
        )

    @router.get("/v1/invoices/{number}/credit-notes")
    async def list_credit_notes(number: str) -> dict[str, Any]:
        async with engine.connect() as conn:
            invoice = await get_document(conn, number)
            if invoice is None or invoice.kind != "invoice":
                raise HTTPException(status_code=404, detail=f"no invoice numbered {number!r}")
            notes = await credit_notes_of(conn, number)
            audit = await audit_entries(conn, [note.number for note in notes])
        invoice_data = load_invoice_json(invoice.json_body)
        credited = format_amount(Decimal(0), currency_of(invoice.currency))
        if notes:  # billing_core states the running sum on each credit note
            credited = load_invoice_json(notes[-1].json_body)["credited_invoice"]["credited_after"]
        return {
            "invoice": number,
            "invoice_total": invoice_data["total"],
            "credited": credited,
            "credit_notes": [{**note.summary(), "audit": audit.get(note.number, [])} for note in notes],
        }

    @router.get("/v1/credit-notes/{number}.pdf", response_class=Response)
    async def credit_note_pdf(number: str, request: Request) -> Response:
        document = await load_credit_note(number)
        return _document_response(request, document.pdf_body, document.pdf_sha256, "application/pdf")

    @router.get("/v1/credit-notes/{number}", response_class=Response)
    async def credit_note_json(number: str, request: Request) -> Response:
        document = await load_credit_note(number)
        return _document_response(request, document.json_body, document.json_sha256, "application/json")

    return router
