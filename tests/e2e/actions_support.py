"""What the end-to-end tests of destructive actions share: a sandbox Railway and Vercel over HTTP,
a controllable clock, and helpers to read a proposal off the fake Slack and wait for its outcome.

Every request the fake Railway received is validated against Railway's published schema when the
fixture ends, and every Vercel call against Vercel's OpenAPI description: a mutation with a wrong
field would pass the round trip but fail here.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from app.catalog import Catalog, parse_catalog
from app.flows.actions import Proposal, get_proposal
from app.providers import graphql_docs
from app.sandbox.railway.graphql import FakeRailway
from app.sandbox.railway.sample import sample_world as railway_world
from app.sandbox.railway.world import SANDBOX_API_TOKEN, RailwayWorld
from app.sandbox.server import LoopbackServer
from app.sandbox.service import SampleService
from app.sandbox.slack import FakeSlack, SlackMessage, find_button
from app.sandbox.vercel.rest import FakeVercel
from app.sandbox.vercel.sample import sample_world as vercel_world
from app.sandbox.vercel.world import SANDBOX_VERCEL_TOKEN, VercelWorld
from app.store import audit as audit_store
from tests.harness import ALERTS, Clock, RunningPitcrew, running_pitcrew
from tests.spec_check import validate_railway_document, validate_vercel_call

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
OPERATOR = "U0OPS1"
OPERATOR_2 = "U0OPS2"
STRANGER = "U0STRANGER"
MUTATIONS = ("DeploymentRollback", "DeploymentRestart", "DeploymentRedeploy", "DeploymentStop", "VariableUpsert")


@dataclass
class Sandbox:
    railway: FakeRailway
    world: RailwayWorld
    vercel: FakeVercel
    vercel_world: VercelWorld
    service: SampleService
    service_url: str
    clock: Clock

    def settings(self) -> dict[str, Any]:
        return {
            "RAILWAY_API_URL": self.railway.url,
            "RAILWAY_API_TOKEN": SANDBOX_API_TOKEN,
            "VERCEL_API_URL": self.vercel.url,
            "VERCEL_TOKEN": SANDBOX_VERCEL_TOKEN,
        }

    def catalog(self, *, operators: list[str] | None = None, actions: dict[str, Any] | None = None,
                api_actions: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> Catalog:
        api: dict[str, Any] = {
            "provider": "railway",
            "railway": self.world.ref("api").model_dump(),
            "health": {"url": f"{self.service_url}/health", "expect_json": {"status": "ok"}, "timeout_s": 2},
        }
        if api_actions:
            api["actions"] = api_actions
        web = {"provider": "vercel", "vercel": self.vercel_world.ref("web").model_dump(exclude_none=True)}
        services = {"api": api, "web": web, "site": {"provider": "http", "health": {"url": self.service_url}}}
        services.update(extra or {})
        document: dict[str, Any] = {
            "slack": {
                "alerts_channel": ALERTS,
                "operators": operators if operators is not None else [OPERATOR, OPERATOR_2],
            },
            "services": services,
        }
        if actions:
            document["actions"] = actions
        return parse_catalog(yaml.safe_dump(document))

    def mutations(self, operation: str | None = None) -> list[Any]:
        wanted = (operation,) if operation else MUTATIONS
        return [c for c in self.railway.calls if c.operation in wanted]


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    clock = Clock(NOW)
    world = railway_world(NOW, clock=clock)
    web_world = vercel_world(NOW, clock=clock)
    service = SampleService()
    async with (
        FakeRailway.serve(world) as railway,
        FakeVercel.serve(web_world) as vercel,
        LoopbackServer(service) as sample,
    ):
        yield Sandbox(railway, world, vercel, web_world, service, sample.url, clock)
    documents = set(graphql_docs.ALL_DOCUMENTS.values())
    for call in railway.calls:
        assert call.query in documents, f"{call.operation}: not one of graphql_docs' constants"
        validate_railway_document(call.query, call.variables)
    for call in vercel.calls:
        validate_vercel_call(call.method, call.path, call.query)


def sandboxed_pitcrew(db_url: str, slack: FakeSlack, sandbox: Sandbox) -> AbstractAsyncContextManager[RunningPitcrew]:
    """pitcrew on the sandbox's providers, catalog and clock (the clock from the start)."""
    return running_pitcrew(db_url, sandbox.catalog(), slack, clock=sandbox.clock, **sandbox.settings())


_POSTED: dict[tuple[str, str], str] = {}  # (channel, ts) -> proposal id, read while the buttons were there


async def posted_proposal(slack: FakeSlack, *, count: int = 1, channel: str = ALERTS) -> SlackMessage:
    """The proposal pitcrew just posted: once `count` proposals were posted, the newest still open one."""
    await slack.wait_for(
        lambda c: c.method == "chat.postMessage"
        and c.args.get("channel") == channel
        and "action.confirm" in str(c.args.get("blocks")),
        count=count,
    )
    message = next(m for m in reversed(slack.messages) if m.channel == channel and find_button(m, "action.confirm"))
    _POSTED[(message.channel, message.ts)] = proposal_id(message)
    return message


def snapshot(message: SlackMessage) -> SlackMessage:
    """The message as it is now: its buttons stay pressable after pitcrew edits the original (a stale client)."""
    return copy.deepcopy(message)


def proposal_id(message: SlackMessage) -> str:
    """The id its confirm button carries (or carried, before an edit took the button away)."""
    found = find_button(message, "action.confirm")
    if found is None:
        return _POSTED[(message.channel, message.ts)]
    return str(found[1]["value"])


async def wait_status(pitcrew: RunningPitcrew, pid: str, *statuses: str, timeout_s: float = 10) -> Proposal:
    """The proposal once it reached one of `statuses` (the click's work continues after Slack's ack)."""
    async with asyncio.timeout(timeout_s):
        while True:
            found = await get_proposal(pitcrew.deps, pid)
            if found is not None and found.status in statuses:
                return found
            await asyncio.sleep(0.01)


async def wait_edited(slack: FakeSlack, message: SlackMessage, fragment: str) -> SlackMessage:
    """`message` once pitcrew edited it to say `fragment` (the edit follows the database change)."""
    await slack.wait_for(
        lambda c: c.method == "chat.update" and c.args.get("ts") == message.ts and fragment in c.args.get("text", "")
    )
    return message


def ephemerals_to(slack: FakeSlack, user: str) -> list[SlackMessage]:
    return [m for m in slack.messages if m.ephemeral_to == user]


async def wait_ephemeral(slack: FakeSlack, user: str, count: int = 1) -> list[SlackMessage]:
    await slack.wait_for(
        lambda c: c.method == "chat.postEphemeral" and c.args.get("user") == user, count=count
    )
    return ephemerals_to(slack, user)


async def audit_entries(pitcrew: RunningPitcrew) -> list[Any]:
    return [e async for e in audit_store.entries(pitcrew.deps.sessions)]


async def wait_audited(pitcrew: RunningPitcrew, action: str, count: int = 1) -> list[Any]:
    """The audit entries of `action`, once there are `count` of them (auditing follows the answer to Slack)."""
    async with asyncio.timeout(10):
        while True:
            found = [e for e in await audit_entries(pitcrew) if e.action == action]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
