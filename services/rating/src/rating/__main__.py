"""``python -m rating``: the API, the usage consumer, the scheduler and the outbox relay."""

from __future__ import annotations

import uvicorn

from rating.bootstrap import create_app
from rating.settings import RatingSettings


def main() -> None:
    settings = RatingSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
    )


if __name__ == "__main__":
    main()
