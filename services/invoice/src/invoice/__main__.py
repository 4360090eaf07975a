"""``python -m invoice``: serve the invoice service on its configured port (8103 by default)."""

from __future__ import annotations

import logging

import uvicorn

from invoice.bootstrap import create_app
from invoice.settings import InvoiceSettings


def main() -> None:
    settings = InvoiceSettings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()
