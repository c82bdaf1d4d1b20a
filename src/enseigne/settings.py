"""Settings, read from the environment (prefix ``ENSEIGNE_``) when the CLI or app starts."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ENSEIGNE_", extra="ignore")

    db: Path = Field(default=Path("enseigne.duckdb"), description="DuckDB database file")
    db_key: SecretStr | None = Field(
        default=None,
        description="Key encrypting the database file at rest (unset: not encrypted)",
    )
    memory_limit: str = Field(default="1GB", description="DuckDB memory limit per process")
    threads: int | None = Field(default=None, description="DuckDB worker threads (all cores)")
    secret_key: str | None = Field(
        default=None,
        description="Key signing web sessions (default: generated once, kept in the database)",
    )
    fiscal_start_month: int = Field(
        default=1, ge=1, le=12, description="First month of the fiscal year (1 = January)"
    )
    retention_years: int = Field(
        default=3, ge=1, description="Years after the last contact before a customer is anonymised"
    )


    def db_key_value(self) -> str | None:
        return self.db_key.get_secret_value() if self.db_key else None


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit values (CLI flags) taking precedence."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**given)
