"""Settings defaults and the fail-fast rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from billing_runtime.settings import DEFAULT_DATABASE_URL, ServiceSettings

STRONG_URL = "postgresql+asyncpg://billing:s3cret-from-vault@db.internal:5432/billing"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("BILLING_"):
            monkeypatch.delenv(name)


def test_defaults_describe_the_local_stack() -> None:
    settings = ServiceSettings()
    assert settings.environment == "test"
    assert settings.database_url_value() == DEFAULT_DATABASE_URL
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.schema_name("rating") == "rating"
    assert settings.topic_name("usage.events.v1") == "usage.events.v1"


def test_environment_variables_are_read_with_the_billing_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_TOPIC_PREFIX", "run7.")
    monkeypatch.setenv("BILLING_SCHEMA_PREFIX", "t_run7_")
    monkeypatch.setenv("BILLING_LOG_LEVEL", "debug")
    monkeypatch.setenv("BILLING_HTTP_PORT", "8101")
    settings = ServiceSettings()
    assert settings.topic_name("usage.events.v1") == "run7.usage.events.v1"
    assert settings.schema_name("ingest") == "t_run7_ingest"
    assert settings.log_level == "DEBUG"
    assert settings.http_port == 8101


def test_database_url_is_hidden_from_repr() -> None:
    assert "billing:billing" not in repr(ServiceSettings())


@pytest.mark.parametrize("environment", ["us-prod", "uk-prod"])
def test_production_refuses_the_default_password(environment: str) -> None:
    with pytest.raises(ValidationError, match="default \\(or no\\) database password"):
        ServiceSettings(environment=environment)


def test_production_refuses_a_missing_password() -> None:
    with pytest.raises(ValidationError, match="BILLING_DATABASE_URL"):
        ServiceSettings(environment="us-prod", database_url="postgresql+asyncpg://billing@db:5432/billing")


def test_production_with_real_credentials_is_accepted() -> None:
    settings = ServiceSettings(environment="uk-prod", database_url=STRONG_URL)
    assert settings.is_production


def test_production_refuses_test_prefixes() -> None:
    with pytest.raises(ValidationError, match="BILLING_TOPIC_PREFIX"):
        ServiceSettings(environment="us-prod", database_url=STRONG_URL, topic_prefix="x.")


def test_public_bind_needs_explicit_opt_in() -> None:
    with pytest.raises(ValidationError, match="BILLING_ALLOW_PUBLIC_BIND"):
        ServiceSettings(http_host="0.0.0.0")
    assert ServiceSettings(http_host="0.0.0.0", allow_public_bind=True).http_host == "0.0.0.0"
    assert ServiceSettings(http_host="::1").http_host == "::1"
    assert ServiceSettings(http_host="localhost").http_host == "localhost"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://billing:billing@127.0.0.1/billing", "postgresql\\+asyncpg"),
        ("sqlite+aiosqlite:///x.db", "postgresql\\+asyncpg"),
        ("not a url", "not a database URL"),
        ("postgresql+asyncpg://127.0.0.1:5432/billing", "user and a database"),
    ],
)
def test_database_url_must_be_asyncpg_with_user_and_database(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ServiceSettings(database_url=url)


@pytest.mark.parametrize("prefix", ["Upper_", "1abc", "a-b", "drop;schema"])
def test_schema_prefix_must_be_a_plain_identifier(prefix: str) -> None:
    with pytest.raises(ValidationError, match="BILLING_SCHEMA_PREFIX"):
        ServiceSettings(schema_prefix=prefix)


@pytest.mark.parametrize("prefix", ["a b", "x/y", "é."])
def test_topic_prefix_must_be_topic_safe(prefix: str) -> None:
    with pytest.raises(ValidationError, match="BILLING_TOPIC_PREFIX"):
        ServiceSettings(topic_prefix=prefix)


@pytest.mark.parametrize("bootstrap", ["", "kafka", "a:1,b"])
def test_kafka_bootstrap_needs_host_and_port(bootstrap: str) -> None:
    with pytest.raises(ValidationError, match="BILLING_KAFKA_BOOTSTRAP"):
        ServiceSettings(kafka_bootstrap=bootstrap)


def test_unknown_environment_and_bad_port_are_refused() -> None:
    with pytest.raises(ValidationError):
        ServiceSettings(environment="staging")
    with pytest.raises(ValidationError):
        ServiceSettings(http_port=70000)


def test_services_subclass_with_their_own_defaults() -> None:
    class IngestSettings(ServiceSettings):
        http_port: int = 8101
        batch_size: int = 500

    settings = IngestSettings(batch_size=10)
    assert (settings.http_port, settings.batch_size) == (8101, 10)
    with pytest.raises(ValidationError, match="BILLING_ALLOW_PUBLIC_BIND"):
        IngestSettings(http_host="10.0.0.5")
