"""On call through the real app: escalation pages whoever is on call when the step runs (the clock
moved through a hand-off), `/incident oncall` shows the board, an override is stored, announced,
audited and ended by its job (an overlapping one and bad input refused, nothing changed), and the
hand-off posts its summary once and sets the Slack user group, whichever of two instances runs it."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from app.catalog import Catalog, parse_catalog
from app.flows.oncall import run_handoffs
from app.jobs.runner import JobRunner
from app.slack.client import web_client
from app.slack.oncall_jobs import HANDOFF_JOB, handoff_ports
from app.store import audit as audit_store
from app.store.db import transaction
from app.store.models import Job, OncallHandoff, OncallOverride
from tests.e2e.incident_support import START, generic_body, pitcrew_for_incidents, roots, thread, wait_until
from tests.fixtures import ALERTS, OPERATOR, SECRET, UPDATES, Clock, running_pitcrew, skip_without_postgres

ANA, BOB, CAT, DAN = "U0ANA", "U0BOB", "U0CAT", "U0DAN"
GROUP = "S0ONCALL"
# START is Monday 2 March 2026 09:00 UTC, 10:00 in Paris; the primary hands off daily at 10:30 Paris.
HANDOFF = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def oncall_catalog(**oncall: Any) -> Catalog:
    document = {
        "slack": {
            "alerts_channel": ALERTS, "updates_channel": UPDATES, "operators": [OPERATOR],
            "escalation": [
                {"after_minutes": 0, "notify": ["oncall:primary"]},
                {"after_minutes": 40, "notify": ["oncall:primary", "oncall:secondary"]},
            ],
        },
        "services": {"api": {"provider": "http", "health": {"url": "https://api.example.com/health"}}},
        "oncall": {
            "slack_group": GROUP,
            "rotations": {
                "primary": {"members": [ANA, BOB], "length": "daily", "handoff": "10:30",
                            "timezone": "Europe/Paris", "anchor": "2026-03-01"},
                "secondary": {"members": [CAT, DAN], "length": "weekly", "handoff": "09:00", "timezone": "UTC",
                              "anchor": "2026-03-02",
                              "restrict": {"days": ["mon..fri"], "from": "10:00", "to": "18:00"}},
            },
            **oncall,
        },
    }
    return parse_catalog(yaml.safe_dump(document))


def responses(slack: Any) -> list[Any]:
    return slack.calls_to("response_url")


async def command(pitcrew: Any, text: str, *, user: str = OPERATOR) -> dict[str, Any]:
    before = len(responses(pitcrew.slack))
    response = await pitcrew.app.command("/incident", text, user=user)
    assert response.status_code == 200
    await wait_until(lambda: len(responses(pitcrew.slack)) > before)
    await pitcrew.run_jobs()
    return responses(pitcrew.slack)[before].args


def channel_posts(slack: Any, words: str) -> list[Any]:
    return [c for c in slack.calls_to("chat.postMessage")
            if c.args.get("channel") == ALERTS and not c.args.get("thread_ts") and words in str(c.args.get("text"))]


async def test_escalation_pages_whoever_is_on_call_when_the_step_runs(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=oncall_catalog()) as pitcrew:
        answer = await command(pitcrew, "declare SEV1 Backend down")
        assert "Declared INC-1" in answer["text"]
        await wait_until(lambda: bool(roots(fake_slack)))
        root = roots(fake_slack)[-1]
        await wait_until(lambda: bool(thread(fake_slack, root)))
        [first] = thread(fake_slack, root)
        assert f"<@{ANA}>" in first.text and BOB not in first.text  # 10:00 Paris: Ana's shift
        assert "on call for primary" in first.text

        pitcrew.clock.advance(minutes=40)  # 10:40 Paris: past the 10:30 hand-off, Bob's shift now
        await pitcrew.run_jobs()
        [escalated] = [m for m in thread(fake_slack, root) if "Not acknowledged" in m.text]
        assert f"<@{BOB}>" in escalated.text and f"<@{ANA}>" not in escalated.text
        # The secondary is on call 10:00-18:00 UTC only: at 09:40 nobody of it is paged.
        assert f"<@{CAT}>" not in escalated.text and f"<@{DAN}>" not in escalated.text
        assert "nobody on call for secondary" in escalated.text

        timeline = await command(pitcrew, "1 timeline")
        assert "Paged" in str(timeline) and BOB in str(timeline)


async def test_an_alerts_first_note_pages_whoever_is_on_call_when_it_goes_out(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=oncall_catalog()) as pitcrew:
        pitcrew.clock.advance(minutes=31)  # 09:31 UTC: Bob's shift
        response = await pitcrew.webhook("generic", generic_body())
        assert response.status_code == 202
        await pitcrew.run_jobs()
        await wait_until(lambda: bool(roots(fake_slack)) and bool(thread(fake_slack, roots(fake_slack)[-1])))
        [note] = thread(fake_slack, roots(fake_slack)[-1])
        assert f"<@{BOB}>" in note.text and f"<@{ANA}>" not in note.text and "on call for primary" in note.text
        timeline = await command(pitcrew, "1 timeline")
        assert "on call for primary" in str(timeline)


async def test_the_board_shows_now_next_and_two_weeks_of_handoffs(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=oncall_catalog()) as pitcrew:
        answer = await command(pitcrew, "oncall")
        text = str(answer["blocks"])
        assert f"*primary*: now <@{ANA}>" in text
        assert f"next <@{BOB}> from <!date^{int(HANDOFF.timestamp())}^" in text
        assert "*secondary*: now nobody (outside its hours)" in text and f"next <@{CAT}> from" in text
        assert "Hand-offs of the coming 14 days (Europe/Paris)" in text
        assert text.count("<!date^") > 14  # daily primary hand-offs, each a Slack date token
        assert answer.get("response_type") == "ephemeral"


async def test_the_board_without_rotations_says_how_to_set_them_up(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        answer = await command(pitcrew, "oncall")
        assert "add an `oncall:` block" in answer["text"]


async def test_an_override_is_announced_and_ended_by_its_job(db_url, fake_slack):
    fake_slack.usergroups[GROUP] = [ANA]
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=oncall_catalog()) as pitcrew:
        answer = await command(pitcrew, f"oncall override <@{BOB}> 2h")
        assert f"<@{BOB}> holds the primary shift until 2026-03-02 11:00 UTC" in answer["text"]
        await wait_until(lambda: bool(channel_posts(fake_slack, "takes the primary on-call shift")))
        [announced] = channel_posts(fake_slack, "takes the primary on-call shift")
        assert f"<@{BOB}>" in announced.args["text"] and f"<@{OPERATOR}>" in announced.args["text"]
        board = await command(pitcrew, "oncall")
        assert f"*primary*: now <@{BOB}> (override until" in str(board["blocks"])
        # The override's start is a hand-off: the summary and the group follow at once.
        await pitcrew.run_jobs()
        assert fake_slack.usergroups[GROUP] == [BOB]
        assert len(channel_posts(fake_slack, "primary on-call hand-off")) == 1

        overlapping = await command(pitcrew, f"oncall override <@{ANA}> 1h primary")
        assert "may not overlap" in overlapping["text"]

        pitcrew.clock.advance(hours=2)  # 11:00 UTC: the override's end job
        await pitcrew.run_jobs()
        [ended] = channel_posts(fake_slack, "has ended")
        assert f"<@{BOB}>" in ended.args["text"] and f"<@{BOB}> is on call again" in ended.args["text"]
        async with transaction(pitcrew.app.deps.sessions) as session:
            rows = (await session.scalars(select(OncallOverride))).all()
        assert len(rows) == 1 and rows[0].ended_at is not None  # the overlapping one added nothing
        entries = [e async for e in audit_store.entries(pitcrew.app.deps.sessions)]
        actions = [(e.action, e.outcome) for e in entries if e.action.startswith("oncall.override")]
        assert actions == [("oncall.override", "added"), ("oncall.override_end", "ended")]


@pytest.mark.parametrize(
    "words, reason",
    [
        (f"oncall override <@{DAN}> 2h", "not a member of the primary rotation"),
        (f"oncall override <@{BOB}> 2h tertiary", "Unknown rotation `tertiary`"),
        (f"oncall override <@{BOB}> soon", "is not a duration"),
        (f"oncall override <@{BOB}> 30d", "too long for the override"),
        ("oncall override bob 2h", "is not a Slack user"),
        ("oncall override", "needs a person and a duration"),
    ],
)
async def test_bad_overrides_are_refused_privately_and_change_nothing(db_url, fake_slack, words, reason):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=oncall_catalog()) as pitcrew:
        answer = await command(pitcrew, words)
        assert reason in answer["text"]
        assert answer.get("response_type") == "ephemeral"
        assert "override" in answer["text"]  # the usage or the reason names the verb
        async with transaction(pitcrew.app.deps.sessions) as session:
            assert (await session.scalars(select(OncallOverride))).all() == []
        assert channel_posts(fake_slack, "takes the") == []


async def test_an_override_is_for_responders_only(db_url, fake_slack):
    catalog = oncall_catalog()
    catalog = catalog.model_copy(update={"slack": catalog.slack.model_copy(update={"responders": [ANA]})})
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog) as pitcrew:
        answer = await command(pitcrew, f"oncall override <@{BOB}> 2h", user="U0STRANGER")
        assert "Only responders may override who is on call" in answer["text"]
        async with transaction(pitcrew.app.deps.sessions) as session:
            assert (await session.scalars(select(OncallOverride))).all() == []


async def test_the_handoff_posts_once_with_two_instances(db_url, fake_slack):
    if "postgres" not in db_url:
        skip_without_postgres()
        pytest.skip("two instances racing for the hand-off's claim: PostgreSQL")
    fake_slack.usergroups[GROUP] = [ANA]
    clock = Clock(START)
    catalog = oncall_catalog()
    async with AsyncExitStack() as stack:
        apps = [
            await stack.enter_async_context(
                running_pitcrew(db_url, catalog, fake_slack, clock=clock, WEBHOOK_SECRET=SECRET)
            )
            for _ in range(2)
        ]
        async with transaction(apps[0].deps.sessions) as session:
            [job] = (await session.scalars(select(Job).where(Job.kind == HANDOFF_JOB))).all()
        # Secondary's working hours start at 10:00 UTC, primary hands off at 09:30 UTC: the first is next.
        assert job.run_at == HANDOFF and job.dedupe_key == HANDOFF_JOB

        runners = [JobRunner(app.deps, worker=f"instance-{n}") for n, app in enumerate(apps)]
        clock.now = HANDOFF + timedelta(seconds=5)
        await asyncio.gather(*(r.run_due() for r in runners))
        for app in apps:
            await app.jobs_settled()
        [posted] = channel_posts(fake_slack, "primary on-call hand-off")
        blocks = str(posted.args["blocks"])
        assert f"<@{ANA}> → <@{BOB}>" in blocks and "Open incidents: none." in blocks
        [update] = fake_slack.calls_to("usergroups.users.update")
        assert update.args == {"usergroup": GROUP, "users": BOB}
        assert fake_slack.usergroups[GROUP] == [BOB]

        # The other instance's own run of the flow finds the hand-off taken.
        again = await run_handoffs(apps[1].deps, handoff_ports(apps[1].deps, web_client(apps[1].deps.settings)))
        assert again == []
        async with transaction(apps[0].deps.sessions) as session:
            claims = (await session.scalars(select(OncallHandoff))).all()
            [job] = (await session.scalars(select(Job).where(Job.kind == HANDOFF_JOB))).all()
        assert [c.key for c in claims] == [f"primary@{HANDOFF.isoformat()}"]
        # Next wake-up: the secondary's working hours start at 10:00 UTC.
        assert job.status == "pending" and job.run_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
        assert len(channel_posts(fake_slack, "on-call hand-off")) == 1


async def test_the_handoff_summary_lists_open_incidents_and_silences(db_url, fake_slack):
    fake_slack.usergroups[GROUP] = [ANA]
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=oncall_catalog()) as pitcrew:
        assert "Declared INC-1" in (await command(pitcrew, "declare SEV3 Queue & cache slow"))["text"]
        await command(pitcrew, "1 silence 2h deploy in progress")
        pitcrew.clock.advance(minutes=30)  # 09:30 UTC: the primary's hand-off
        await pitcrew.run_jobs()
        [posted] = channel_posts(fake_slack, "primary on-call hand-off")
        blocks = str(posted.args["blocks"])
        assert "Open incidents (1): INC-1 SEV3 Queue &amp; cache slow" in blocks  # escaped
        assert "Incidents of the last shift (1)" in blocks
        assert "Silenced: INC-1 until 2026-03-02 11:00 UTC" in blocks
        assert fake_slack.usergroups[GROUP] == [BOB]
