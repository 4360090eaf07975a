"""Alembic environment of the ingest service: its tables live in the service's own schema."""

from billing_runtime.migrations import run_service_migrations

run_service_migrations("ingest")
