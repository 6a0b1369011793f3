"""`pitcrew demo`: the real command plays its story and exits 0; the `demo` verbs drive the sandbox
through the console, and UptimeRobot's alerts reach pitcrew over its real webhook route."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from app.catalog import parse_catalog
from app.core.webhooks import uptimerobot
from app.demo.story import play_story, story_steps
from app.demo.world import (
    ALERTS_CHANNEL,
    DEMO_USER,
    SandboxApi,
    demo_catalog_yaml,
    running_demo,
)
from app.flows import incident_views
from app.sandbox.railway import sample as railway_sample
from app.sandbox.slack import find_button
from app.sandbox.uptime import UPTIMEROBOT_TEMPLATE, fill_template
from app.sandbox.vercel import sample as vercel_sample

REPO = Path(__file__).resolve().parent.parent


def test_pitcrew_demo_script_plays_the_story_and_cleans_up(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "RAILWAY_", "VERCEL_"))}
    environment.update(PYTHONPATH=str(REPO), DATABASE_URL="postgresql://nobody@127.0.0.1:1/not-used")
    result = subprocess.run(
        [sys.executable, "-m", "app", "demo", "--script"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-2000:]
    assert f"demo script: all {len(story_steps())} steps behaved" in out
    assert "(sandbox) api's deployment 4e6a8c0d crashed" in out
    assert "(sandbox) UptimeRobot: monitor “api” is Down (HTTP 503 - Service Unavailable)" in out
    assert "🔴 SEV2 INC-1: api is down" in out
    # the backend-down runbook's metrics step: memory climbed towards the limit, charted in the thread
    assert "CPU and memory of api over the last hour" in out and "peak 9" in out
    assert re.search(r"\[image: api: CPU, memory, 5xx and p95, last 60 min, written to \S+api-metrics\.png\]", out)
    assert "⛔ You cannot confirm roll back api" in out
    assert "✅ Done and verified: roll back api" in out
    assert "(sandbox) UptimeRobot: monitor “api” is Up (HTTP 200 - OK)" in out
    assert "🟢 Recovered: the alert is resolved." in out
    assert "📝 Post-mortem draft for INC-1" in out
    assert "audit trail intact" in out
    assert "Traceback" not in out + result.stderr
    assert "sandbox-db-password" not in out  # the password the sample app logs is masked
    # Nothing is left behind: the temporary directory with pitcrew.yml and the database is gone.
    config = re.search(r"pitcrew\.yml\s+(\S+)", out)
    assert config is not None
    assert not Path(config.group(1)).parent.exists()
    assert list(tmp_path.iterdir()) == []


async def test_the_story_plays_on_this_database(db_url):
    out = io.StringIO()
    async with running_demo(out, database_url=db_url) as demo:
        code = await play_story(demo.session, demo.sandbox)
    assert code == 0, out.getvalue()[-3000:]
    assert f"all {len(story_steps())} steps behaved" in out.getvalue()


async def test_demo_break_api_opens_an_incident_thread(db_url):
    out = io.StringIO()
    async with running_demo(out, database_url=db_url) as demo:
        assert await demo.session.run(["demo break api"]) == 0
        sandbox = demo.sandbox
        current = sandbox.railway.world.current("api")
        assert current is not None and current.status == "CRASHED"
        assert sandbox.api.service.mode == "down"
        [alert] = sandbox.monitor.sent
        assert (alert.state, alert.status_code) == ("down", 202)
        assert alert.body["alertType"] == "1" and alert.body["monitorURL"] == sandbox.health_url
        [incident] = await incident_views.list_open(demo.session.deps)
        assert (incident.service, incident.source, incident.state) == ("api", "uptimerobot", "investigating")
        root = demo.session.slack.message(ALERTS_CHANNEL, incident.thread_ts or "")
        assert root is not None and find_button(root, "incident.ack") is not None
        number = demo.session.message_number(root)
        ack = demo.session.button_number(root, "incident.ack")
        # Breaking what is broken already is refused, and UptimeRobot does not alert twice.
        assert await demo.session.feed("demo break api")
        assert len(sandbox.monitor.sent) == 1
    transcript = out.getvalue()
    assert "> demo break api" in transcript
    assert f"#{number} 🔴 SEV2 INC-1: api is down" in transcript
    assert f"[{ack}] Acknowledge" in transcript
    assert "api is already down: `demo fix api` heals it" in transcript


async def test_demo_deploy_ships_a_bad_build_and_fix_recovers(db_url):
    out = io.StringIO()
    async with running_demo(out, database_url=db_url) as demo:
        world = demo.sandbox.railway.world
        before = world.current("api")
        assert await demo.session.feed("demo deploy api")
        bad = world.current("api")
        assert bad is not None and before is not None and bad.id != before.id
        assert bad.status == "CRASHED" and bad.commit_message == "Move sessions to the new auth middleware"
        assert any("TypeError" in line.message for line in bad.logs)
        [incident] = await incident_views.list_open(demo.session.deps)
        assert incident.deploy is not None and incident.deploy.id == bad.id  # the fresh deploy is the suspect
        assert await demo.session.feed("demo fix api")
        assert [s.state for s in demo.sandbox.monitor.sent] == ["down", "up"]
        recovered = await incident_views.load(demo.session.deps, incident.id)
        assert recovered.state == "monitoring"
    assert "(sandbox) UptimeRobot: monitor “api” is Up (HTTP 200 - OK)" in out.getvalue()


async def test_demo_verb_bad_input_says_what_it_expects(db_url):
    out = io.StringIO()
    async with running_demo(out, database_url=db_url) as demo:
        lines = ["demo break", "demo break web", "demo explode api", "demo fix api", "demo", "help"]
        assert await demo.session.run(lines) == 0
        assert demo.sandbox.monitor.sent == []
        assert await incident_views.list_open(demo.session.deps) == []
    transcript = out.getvalue()
    assert "`demo break` needs the service: `demo break api`" in transcript
    assert "the sandbox can only break `api`" in transcript and "not 'web'" in transcript
    assert "`demo explode` is not a demo command" in transcript
    assert "api is healthy already" in transcript
    assert transcript.count("demo deploy api         ship a bad deployment") == 2  # `demo` and `help` both list it
    assert "Traceback" not in transcript


def test_a_bug_hit_by_traffic_survives_a_restart_not_a_rollback():
    world = railway_sample.sample_world()
    api = SandboxApi(world)
    api.crash()
    current = world.current("api")
    assert current is not None and current.status == "CRASHED"
    world.restart(current.id)
    assert api.sync() is False and current.status == "CRASHED"
    assert sum("listOrders" in line.message for line in current.logs) == 2  # it died twice, the same way
    world.rollback(railway_sample.SAMPLE_DEPLOYMENT_IDS[1])
    assert api.sync() is True


def test_a_restarted_bad_build_crashes_again_and_a_rollback_heals():
    world = railway_sample.sample_world()
    api = SandboxApi(world)
    assert api.sync() is True
    api.deploy_bad()
    bad = world.current("api")
    assert bad is not None and bad.status == "CRASHED" and api.sync() is False
    world.restart(bad.id)  # what pitcrew's restart does through Railway's API
    assert api.sync() is False and bad.status == "CRASHED"
    world.rollback(railway_sample.SAMPLE_DEPLOYMENT_IDS[-1])
    assert api.sync() is True and api.service.mode == "ok"


def test_the_demo_catalog_is_a_valid_pitcrew_yml_with_the_demo_user_as_operator():
    world, vercel_world = railway_sample.sample_world(), vercel_sample.sample_world()
    catalog = parse_catalog(demo_catalog_yaml(world, vercel_world, "http://127.0.0.1:9/health"))
    assert catalog.slack.operators == [DEMO_USER]
    assert sorted(catalog.services) == ["api", "db", "web", "worker"]
    assert catalog.depends_on["api"] == ["db"] and catalog.depends_on["web"] == ["api"]
    assert catalog.services["api"].railway == world.ref("api")
    assert catalog.actions.verify.interval_s == 1 and (catalog.actions.verify.window_minutes or 0) * 60 <= 5


def test_the_uptimerobot_template_filled_in_is_what_the_parser_reads():
    values = {"monitorID": "7", "monitorURL": "https://api.example.com/health", "alertType": "1"}
    body = fill_template(UPTIMEROBOT_TEMPLATE, values)
    assert body["alertDetails"] == "*alertDetails*"  # what UptimeRobot did not fill in stays a placeholder
    [alert] = uptimerobot.parse(json.dumps(body).encode(), "application/json")
    assert (alert.status, alert.fingerprint, alert.link) == ("firing", "7", "https://api.example.com/health")
    assert alert.details == ""  # ... and counts as absent


async def test_demo_break_db_makes_one_incident_naming_db_as_the_cause(db_url):
    out = io.StringIO()
    async with running_demo(out, database_url=db_url) as demo:
        assert await demo.session.run(["demo break db"]) == 0
        sandbox = demo.sandbox
        assert [m.sent[-1].state for m in sandbox.monitors] == ["down", "down", "down"]  # api, db, web
        [listed] = await incident_views.list_open(demo.session.deps)
        incident = await incident_views.load(demo.session.deps, listed.id)
        assert sorted(a.service or "" for a in incident.related) == ["api", "db", "web"]

        def cause_shown() -> bool:
            root = demo.session.slack.message(ALERTS_CHANNEL, incident.thread_ts or "")
            if root is None:
                return False
            header = next(b["text"]["text"] for b in root.blocks if b.get("type") == "header")
            # the cause on the cause line, and the incident titled after it
            return "db is down; api and web alerts joined" in json.dumps(root.blocks) and header.endswith(
                "INC-1: db is down"
            )

        async with asyncio.timeout(15):  # the root is edited in place at the demo's short interval
            while not cause_shown():  # noqa: ASYNC110 - the job runner edits it in its own time
                await asyncio.sleep(0.1)
        assert await demo.session.run(["demo fix db"]) == 0
    transcript = out.getvalue()
    assert "monitor “db” is Down" in transcript and "monitor “web” is Down" in transcript
