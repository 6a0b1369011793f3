"""Fixtures the console tests share: a sample service over loopback HTTP for /health to probe."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.sandbox.server import LoopbackServer
from app.sandbox.service import SampleService


@pytest.fixture
async def service() -> AsyncIterator[tuple[SampleService, str]]:
    sample = SampleService()
    async with LoopbackServer(sample) as server:
        yield sample, server.url
