"""Railway as it really behaves, end to end from Slack: its rate limit said with the time it lifts, and
`/logs --level` in Railway's own four levels. The sandbox Railway behaves as Railway is documented to
(each behaviour cites its source in app/sandbox/railway/)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from app.sandbox.slack import FakeSlack
from tests.fixtures import OPERATOR, running_pitcrew
from tests.logs_support import catalog_for, railway_world, serving, vercel_world


async def _slash_logs(pitcrew, slack: FakeSlack, text: str):  # type: ignore[no-untyped-def]
    before = len(slack.calls_to("response_url"))
    response = await pitcrew.command("/logs", text, user=OPERATOR)
    assert response.status_code == 200
    return (await slack.wait_for(lambda c: c.method == "response_url", count=before + 1))[-1]


async def test_a_long_rate_limit_is_said_with_its_time_and_not_retried(db_url: str, fake_slack: FakeSlack) -> None:
    now = datetime.now(UTC)
    rworld, vworld = railway_world(now), vercel_world(now)
    async with serving(rworld, vworld) as providers, running_pitcrew(
        db_url, catalog_for(rworld, vworld), fake_slack, **providers.settings()
    ) as pitcrew:
        rworld.rate_limit_next(retry_after_s=900, times=50)
        before = datetime.now(UTC)
        answer = await _slash_logs(pitcrew, fake_slack, "api")
        after = datetime.now(UTC)

    said = answer.args["text"]
    lifts = {f"{moment + timedelta(seconds=900):%H:%M}" for moment in (before, after)}
    found = re.search(r"Railway's rate limit: retry after (\d\d:\d\d) UTC", said)
    assert found is not None and found.group(1) in lifts, said
    assert answer.args["response_type"] == "ephemeral"
    # The variables and the deployment were asked for at once: one request each, none asked again.
    assert len(providers.railway.calls) == 2


async def test_logs_level_asks_railway_in_its_own_levels(db_url: str, fake_slack: FakeSlack) -> None:
    now = datetime.now(UTC)
    rworld, vworld = railway_world(now), vercel_world(now)
    rworld.log("api", "disk almost full", level="warning")
    async with serving(rworld, vworld) as providers, running_pitcrew(
        db_url, catalog_for(rworld, vworld), fake_slack, **providers.settings()
    ) as pitcrew:
        answer = await _slash_logs(pitcrew, fake_slack, "api --level warn")

    [logs_call] = [c for c in providers.railway.calls if c.operation == "DeploymentLogs"]
    words = set(re.findall(r"@level:(\w+)", logs_call.variables["filter"] or ""))
    assert words and words <= {"debug", "info", "warn", "error"}, logs_call.variables["filter"]
    assert "disk almost full" in str(answer.args)
