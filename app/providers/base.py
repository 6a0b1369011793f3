"""What every provider client shares: the error that says which call failed and why."""

from __future__ import annotations


class ProviderError(Exception):
    """A call to a provider failed. `call` names it (`railway deployments`), `reason` says what came back."""

    def __init__(self, call: str, reason: str) -> None:
        self.call = call
        self.reason = reason
        super().__init__(f"{call} failed: {reason}")


class InvalidIdentifier(ValueError):
    """An id or name that cannot be sent to a provider as it is; says what was expected instead."""

    def __init__(self, what: str, value: object, expected: str) -> None:
        self.what = what
        self.value = value
        shown = repr(value) if not isinstance(value, str) or len(value) <= 80 else repr(value[:77] + "...")
        super().__init__(f"{what} {shown} is not valid: expected {expected}")


class UnknownDeployment(ProviderError):
    """The deployment does not exist, or belongs to another service than the one asked about."""

    def __init__(self, call: str, deployment_id: str, reason: str | None = None) -> None:
        self.deployment_id = deployment_id
        super().__init__(call, reason or f"no deployment {deployment_id!r} in this service")
