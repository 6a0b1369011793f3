"""Secrets out of every log line pitcrew's process writes, uvicorn's access log included.

A monitoring tool that can only append `?token=<secret>` to the webhook URL puts the secret in the
request line, and uvicorn's access log writes request lines as they came. The filter here sits on
every handler `pitcrew` configures (its own and uvicorn's), and masks with the same engine as
/logs and the audit trail: `token=`, `password=` and the like, bearer tokens, JWTs, passwords in
URLs, and the exact values of pitcrew's own secrets.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from typing import Any

from app.core.secrets import mask_values

# The access formatter unpacks its record's arguments (client, method, path, version, status):
# they are masked one by one and never folded into the message.
_STRUCTURED_ARGS = frozenset({"uvicorn.access"})


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = self._masked_args(record.args)
            if record.name not in _STRUCTURED_ARGS:
                full = record.getMessage()
                clean = self._mask(full)
                if clean != full:  # a secret split between the format and its arguments
                    record.msg, record.args = clean, ()
        elif isinstance(record.msg, str):
            record.msg = self._mask(record.msg)
        return True

    def _mask(self, text: str) -> str:
        return mask_values(text, self._secrets)

    def _masked_args(self, args: Any) -> Any:
        if isinstance(args, dict):
            return {key: self._mask(value) if isinstance(value, str) else value for key, value in args.items()}
        if isinstance(args, tuple):
            return tuple(self._mask(value) if isinstance(value, str) else value for value in args)
        return args


def install_on_root(secrets: Iterable[str]) -> None:
    """Mask on every handler of the root logger (the one `logging.basicConfig` made)."""
    redact = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)


def uvicorn_log_config(secrets: Iterable[str]) -> dict[str, Any]:
    """uvicorn's own logging configuration, its handlers masking as pitcrew's do."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {
        "()": "app.log_redaction.RedactSecrets",
        "secrets": list(secrets),
    }
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_secrets")
    return config
