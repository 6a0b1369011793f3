"""Socket Mode's connection to Slack, logged as one line per attempt.

slack-sdk's Socket Mode client retries for ever while Slack cannot be reached (every
`RETRY_INTERVAL_S`), and logs each failure with `logger.exception`, a full traceback, after an
error line of its own for the WebSocket URL it could not get. Offline for an hour, that is hundreds
of tracebacks burying everything else. The logger given to it here says each failed attempt in one
line (the error's type and first line) and drops the duplicate; everything else passes unchanged.
"""

from __future__ import annotations

import logging

RETRY_INTERVAL_S = 10  # the client's ping interval, also its wait between two connection attempts
_DUPLICATE = "Failed to retrieve WSS URL"  # said again by the attempt's own failure, just after
_ATTEMPT = "Failed to connect"  # slack_sdk/socket_mode/aiohttp: `logger.exception(f"Failed to connect ...")`


class OneLinePerAttempt(logging.Filter):
    """A failed attempt in one line, without its traceback; the SDK's duplicate line dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if text.startswith(_DUPLICATE):
            return False
        if record.exc_info or record.levelno >= logging.WARNING:
            error = record.exc_info[1] if record.exc_info else None
            said = _first_line(text)
            if text.startswith(_ATTEMPT) and error is not None:
                reason = _first_line(f"{type(error).__name__}: {error}")
                said = f"could not connect to Slack ({reason}); trying again in {RETRY_INTERVAL_S} s"
            record.msg, record.args = f"Socket Mode: {said}", None
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def socket_mode_logger() -> logging.Logger:
    """The logger handed to the Socket Mode client (`pitcrew.socket`), its failures one line each."""
    logger = logging.getLogger("pitcrew.socket")
    if not any(isinstance(f, OneLinePerAttempt) for f in logger.filters):
        logger.addFilter(OneLinePerAttempt())
    return logger


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return (lines[0] if lines else text)[:300]
