"""Secrets kept out of pitcrew's logs, whoever logs: pitcrew, Bolt, the Slack SDK, uvicorn.

Errors quote what they were given, and a driver's error may quote a DSN; a log line is read by
whoever reads the platform's logs, often more people than may see the database's password. So
every log record is masked as it is made (a record factory, not a handler filter: uvicorn's
loggers have handlers of their own), with the same masker as Slack messages and the audit trail:
pitcrew's tokens, each `postgres` service's DSN and password (Deps.secret_values()), and
everything secret-shaped. A record's arguments are masked one by one rather than merged into its
message, so formatters that read them (uvicorn's access log) still can; for any other logger, a
secret split between the format and its arguments (`"?token=%s"`) is caught in the merged text.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from typing import Any

from app.core.secrets import mask_values


def mask_logs(secrets: Iterable[str]) -> None:
    """From now on, mask `secrets` (and secret-shaped strings) in every log record of this process."""
    known = tuple(secrets)
    current = logging.getLogRecordFactory()
    base = getattr(current, "__wrapped_factory__", current)

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            mask_record(record, known)
        except Exception:  # a log line must never fail because of masking
            record.msg, record.args = "(a log message that could not be masked was left out)", ()
        return record

    factory.__wrapped_factory__ = base  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


# The access formatter unpacks its record's arguments (client, method, path, version, status).
_STRUCTURED_ARGS = frozenset({"uvicorn.access"})


def mask_record(record: logging.LogRecord, known: tuple[str, ...]) -> None:
    """Mask `record` in place: its message, its arguments and its traceback."""
    if record.args and record.name not in _STRUCTURED_ARGS:
        full = record.getMessage()  # masked whole: a secret may be split between format and arguments
        clean = mask_values(full, known)
        if clean != full:
            record.msg, record.args = clean, ()
    else:
        if isinstance(record.msg, str):
            record.msg = mask_values(record.msg, known)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked_arg(arg, known) for arg in record.args)
    if record.exc_info and record.exc_info[0] is not None:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_text = mask_values(text, known)


def _masked_arg(arg: Any, known: tuple[str, ...]) -> Any:
    if isinstance(arg, str):
        return mask_values(arg, known)
    if isinstance(arg, BaseException):
        return mask_values(str(arg), known)
    return arg
