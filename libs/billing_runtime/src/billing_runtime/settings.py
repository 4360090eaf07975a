"""Configuration shared by every service, read from ``BILLING_*`` environment variables.

Unsafe combinations are refused when the settings object is built, so a misconfigured service dies at
start-up with a message naming the variable instead of misbehaving later.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

Environment = Literal["test", "us-prod", "uk-prod"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

DEFAULT_DATABASE_URL = "postgresql+asyncpg://billing:billing@127.0.0.1:5432/billing"
DEFAULT_DB_PASSWORD = "billing"  # noqa: S105 - the well-known local password that production must not use
_SCHEMA_PREFIX = re.compile(r"^([a-z][a-z0-9_]{0,40})?$")
_TOPIC_PREFIX = re.compile(r"^[A-Za-z0-9._-]{0,100}$")
_PRODUCTION: frozenset[str] = frozenset({"us-prod", "uk-prod"})


class SettingsError(ValueError):
    """A configuration value that the service refuses to run with."""


def is_loopback_host(host: str) -> bool:
    """True for names and addresses that are only reachable from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServiceSettings(BaseSettings):
    """Base settings; each service subclasses it to add its own fields and default port.

    Rules enforced (each one names the offending ``BILLING_*`` variable):

    * ``database_url`` must be a ``postgresql+asyncpg://`` URL with a user and a database;
    * a production environment may not use the local default database password, nor an empty one,
      nor topic/schema prefixes (those exist to isolate test runs);
    * binding HTTP to anything but loopback needs ``BILLING_ALLOW_PUBLIC_BIND=true``;
    * prefixes are restricted to characters that are safe in topic and schema names.
    """

    model_config = SettingsConfigDict(env_prefix="BILLING_", extra="ignore", frozen=True)

    environment: Environment = "test"
    database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    schema_prefix: str = ""
    topic_replication_factor: int = Field(default=1, ge=1, le=7)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    allow_public_bind: bool = False
    log_level: LogLevel = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("schema_prefix")
    @classmethod
    def _check_schema_prefix(cls, value: str) -> str:
        if not _SCHEMA_PREFIX.match(value):
            raise SettingsError(
                f"BILLING_SCHEMA_PREFIX={value!r}: use lower-case letters, digits and '_', "
                "starting with a letter, at most 41 characters"
            )
        return value

    @field_validator("topic_prefix")
    @classmethod
    def _check_topic_prefix(cls, value: str) -> str:
        if not _TOPIC_PREFIX.match(value):
            raise SettingsError(f"BILLING_TOPIC_PREFIX={value!r}: use letters, digits, '.', '_' and '-' only")
        return value

    @field_validator("kafka_bootstrap")
    @classmethod
    def _check_bootstrap(cls, value: str) -> str:
        servers = [part.strip() for part in value.split(",") if part.strip()]
        if not servers or any(":" not in server for server in servers):
            raise SettingsError(f"BILLING_KAFKA_BOOTSTRAP={value!r}: expected host:port[,host:port...]")
        return ",".join(servers)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr) -> SecretStr:
        try:
            url = make_url(value.get_secret_value())
        except ArgumentError as exc:
            raise SettingsError(f"BILLING_DATABASE_URL is not a database URL: {exc}") from None
        if url.drivername != "postgresql+asyncpg":
            raise SettingsError(
                f"BILLING_DATABASE_URL uses driver {url.drivername!r}; the services need 'postgresql+asyncpg'"
            )
        if not url.username or not url.database:
            raise SettingsError("BILLING_DATABASE_URL must name a user and a database")
        return value

    @model_validator(mode="after")
    def _check_combinations(self) -> ServiceSettings:
        if not self.allow_public_bind and not is_loopback_host(self.http_host):
            raise SettingsError(
                f"BILLING_HTTP_HOST={self.http_host!r} is reachable from other machines; "
                "set BILLING_ALLOW_PUBLIC_BIND=true when that is intended (containers, clusters)"
            )
        if self.environment in _PRODUCTION:
            password = make_url(self.database_url.get_secret_value()).password
            if not password or password == DEFAULT_DB_PASSWORD:
                raise SettingsError(
                    f"BILLING_ENVIRONMENT={self.environment} with the local default (or no) database "
                    "password in BILLING_DATABASE_URL; use the production credentials"
                )
            if self.topic_prefix or self.schema_prefix:
                raise SettingsError(
                    f"BILLING_ENVIRONMENT={self.environment} must not set BILLING_TOPIC_PREFIX or "
                    "BILLING_SCHEMA_PREFIX; prefixes only isolate test runs"
                )
        return self

    @property
    def is_production(self) -> bool:
        return self.environment in _PRODUCTION

    def database_url_value(self) -> str:
        """The database URL in clear text, for the engine factory only (never log it)."""
        return self.database_url.get_secret_value()

    def schema_name(self, service: str) -> str:
        """The PostgreSQL schema that holds ``service``'s tables in this run."""
        return f"{self.schema_prefix}{service}"

    def topic_name(self, base: str) -> str:
        """The Kafka topic for catalogue name ``base`` in this run."""
        return f"{self.topic_prefix}{base}"
