"""Secrets and endpoints from the environment (DESIGN.md, "Environment").

Kept apart from the catalog (pitcrew.yml) because the catalog is committed to a repository and
these values are not: tokens live only in the environment of the process.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every variable of DESIGN.md's table, with its default."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=True, extra="ignore")

    DATABASE_URL: str = "sqlite:///pitcrew.db"
    PITCREW_CONFIG: str = "pitcrew.yml"
    SLACK_BOT_TOKEN: SecretStr | None = None
    SLACK_SIGNING_SECRET: SecretStr | None = None
    SLACK_APP_TOKEN: SecretStr | None = None
    SLACK_API_URL: str = "https://slack.com/api/"
    RAILWAY_API_TOKEN: SecretStr | None = None
    RAILWAY_PROJECT_TOKEN: SecretStr | None = None
    RAILWAY_API_URL: str = "https://backboard.railway.com/graphql/v2"
    VERCEL_TOKEN: SecretStr | None = None
    VERCEL_API_URL: str = "https://api.vercel.com"
    WEBHOOK_SECRET: SecretStr | None = None
    SENTRY_CLIENT_SECRET: SecretStr | None = None
    VERCEL_WEBHOOK_SECRET: SecretStr | None = None
    PUBLIC_URL: str | None = None
    STATUS_PAGE_TOKEN: SecretStr | None = None
    PORT: int = 3000

    def secret_values(self) -> list[str]:
        """The secrets themselves, so that logs and the audit trail can mask any that leak into text."""
        values = []
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if isinstance(value, SecretStr) and field.annotation is not None:
                raw = value.get_secret_value()
                if raw:
                    values.append(raw)
        return values
