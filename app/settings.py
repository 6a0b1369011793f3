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
    # One secret per source (DESIGN.md, second round): a leaked UptimeRobot URL then opens no
    # incident as Alertmanager. Each falls back to WEBHOOK_SECRET when unset.
    WEBHOOK_SECRET_ALERTMANAGER: SecretStr | None = None
    WEBHOOK_SECRET_UPTIMEROBOT: SecretStr | None = None
    WEBHOOK_SECRET_BETTERSTACK: SecretStr | None = None
    WEBHOOK_SECRET_SENTRY: SecretStr | None = None
    WEBHOOK_SECRET_RAILWAY: SecretStr | None = None
    WEBHOOK_SECRET_VERCEL: SecretStr | None = None
    WEBHOOK_SECRET_GENERIC: SecretStr | None = None
    WEBHOOK_SECRET_PAGERDUTY: SecretStr | None = None
    # PagerDuty Events API v2 (issue 17): the integration's routing key turns pages into PagerDuty
    # events; the URL is overridable for the sandbox's stand-in.
    PAGERDUTY_ROUTING_KEY: SecretStr | None = None
    PAGERDUTY_EVENTS_URL: str = "https://events.pagerduty.com/v2/enqueue"
    SENTRY_CLIENT_SECRET: SecretStr | None = None
    VERCEL_WEBHOOK_SECRET: SecretStr | None = None
    # Keys the audit chain (HMAC-SHA256) and the stored Slack requests' MACs (docs/audit.md). Without
    # it pitcrew runs, but its trail is only as safe as write access to its database.
    AUDIT_KEY: SecretStr | None = None
    PUBLIC_URL: str | None = None
    # Vercel log drain (POST /drains/vercel): the drain's signature secret (x-vercel-signature is
    # HMAC-SHA1 of the body with it), and the code Vercel asks the endpoint to answer in its
    # `x-vercel-verify` header when the drain is created.
    VERCEL_DRAIN_SECRET: SecretStr | None = None
    VERCEL_DRAIN_VERIFY: str | None = None
    # The one Slack workspace and app this pitcrew serves; requests naming another are refused.
    SLACK_TEAM_ID: str | None = None
    SLACK_APP_ID: str | None = None
    STATUS_PAGE_TOKEN: SecretStr | None = None
    PORT: int = 3000

    def webhook_secret(self, source: str) -> tuple[str, str]:
        """The secret `/webhooks/<source>` must carry and the variable it comes from ("" when none is set).

        The source's own `WEBHOOK_SECRET_<SOURCE>` when set, else the shared `WEBHOOK_SECRET`: a
        source with its own secret does not accept the shared one."""
        name = f"WEBHOOK_SECRET_{source.upper()}"
        own = getattr(self, name, None)
        if isinstance(own, SecretStr) and own.get_secret_value():
            return own.get_secret_value(), name
        shared = self.WEBHOOK_SECRET.get_secret_value() if self.WEBHOOK_SECRET else ""
        return shared, "WEBHOOK_SECRET"

    def audit_key(self) -> bytes | None:
        """AUDIT_KEY as the bytes the chain's HMAC takes; None when unset or empty."""
        raw = self.AUDIT_KEY.get_secret_value() if self.AUDIT_KEY else ""
        return raw.encode() if raw else None

    def key_secrets(self) -> tuple[str | None, str | None]:
        """AUDIT_KEY and the Slack signing secret (None when unset), the secrets pitcrew derives its
        own keys from: stored requests' MACs, sealed secret inputs, value fingerprints. Each use
        derives its key with its own label (app/core), AUDIT_KEY first and the signing secret as
        the fallback, so one leaked derived key opens none of the others."""
        audit_key = self.AUDIT_KEY.get_secret_value() if self.AUDIT_KEY else None
        signing = self.SLACK_SIGNING_SECRET.get_secret_value() if self.SLACK_SIGNING_SECRET else None
        return audit_key, signing

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
