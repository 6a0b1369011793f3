"""Every log record masked as it is made, whatever the shape of the record (app/log_masking.py)."""

from __future__ import annotations

import logging

from app.log_masking import mask_record


def _record(name: str, msg: str, args: tuple[object, ...] | dict[str, object] | None) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)


def _shown(record: logging.LogRecord, secrets: tuple[str, ...] = ()) -> str:
    mask_record(record, secrets)
    return record.getMessage()


def test_a_token_in_an_argument_is_masked():
    assert _shown(_record("pitcrew.x", "POST %s", ("/webhooks/generic?token=s3cret-abc&x=1",))) == (
        "POST /webhooks/generic?token=***&x=1"
    )


def test_a_token_split_between_the_format_and_its_argument_is_masked():
    shown = _shown(_record("pitcrew.x", "called ?token=%s", ("s3cret-abc",)))
    assert "s3cret-abc" not in shown


def test_a_known_secret_value_is_masked_anywhere():
    assert "hunter22" not in _shown(_record("pitcrew.x", "connected with hunter22", None), ("hunter22",))


def test_the_access_log_keeps_its_five_arguments():
    record = _record("uvicorn.access", '%s - "%s %s HTTP/%s" %d', ("1.2.3.4:5", "POST", "/w?token=abcdef", "1.1", 202))
    assert _shown(record) == '1.2.3.4:5 - "POST /w?token=*** HTTP/1.1" 202'
    assert isinstance(record.args, tuple) and len(record.args) == 5
