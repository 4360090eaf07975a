"""`python -m ingest`: the HTTP API and the Kafka consumer in one process (port 8101 by default)."""

from __future__ import annotations

import logging

import uvicorn

from ingest.bootstrap import create_app
from ingest.settings import IngestSettings


def main() -> None:
    settings = IngestSettings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = uvicorn.Config(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=int(settings.ingest_shutdown_grace_seconds) + 1,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
