"""`check: metrics` in a runbook, through the real app: the built-in backend-down's metrics step (before
the cause is chosen) reads the service's metrics from the sandbox Railway, says memory hit its limit (an
OOM restart, down), and uploads a PNG of the last hour in the incident's thread the way Slack asks
(files.getUploadURLExternal, the bytes, files.completeUploadExternal); the OOM branch then restarts."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image

from app.flows import incident_views
from tests.e2e.runbook_support import RESPONDER, api_goes_down, ended, offers, runbook_pitcrew, step_message, until
from tests.fixtures import Sandbox

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def test_the_oom_branch_charts_memory_in_the_thread(db_url, fake_slack, sandbox: Sandbox):
    sandbox.world.set_metrics("api", memory_gb=1.5, memory_limit_gb=2.0)
    sandbox.world.oom("api", at=sandbox.clock() - timedelta(minutes=6))
    async with runbook_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        root = await api_goes_down(pitcrew, sandbox)
        await until(lambda: offers(fake_slack, root), what="the offer")
        await fake_slack.click(offers(fake_slack, root)[0], "runbook.run", user=RESPONDER, value="backend-down")
        for step_id in ("announce", "health", "status", "logs"):
            message = await step_message(fake_slack, root, step_id)
            await fake_slack.click(message, "runbook.skip", user=RESPONDER)
            await ended(message, "Skipped")

        step = await step_message(fake_slack, root, "metrics")
        assert "CPU and memory of api over the last hour" in str(step.blocks)
        await fake_slack.click(step, "runbook.run", user=RESPONDER)
        await ended(step, "Ran")
        shown = str(step.blocks)
        assert "down: " in shown and "1 OOM restart in 15 min (memory hit the limit)" in shown
        assert "chart of the last hour: api-metrics.png" in shown

        [upload] = [u for u in fake_slack.uploads.values() if u.get("filename") == "api-metrics.png"]
        assert upload["content"].startswith(PNG_SIGNATURE) and len(upload["content"]) > 5000
        with Image.open(io.BytesIO(upload["content"])) as image:  # a PNG an image library reads whole
            image.load()
            assert image.format == "PNG" and image.size == (800, 450)
        assert upload["channel"] == root.channel and upload["thread_ts"] == root.ts
        assert upload["title"] == "api: CPU, memory, 5xx and p95, last 60 min"
        cause = await step_message(fake_slack, root, "cause")  # the run went on, to the cause
        await fake_slack.click(cause, "runbook.choose.2", user=RESPONDER)  # Out of memory (OOM)
        assert "Restart api to clear its memory" in str((await step_message(fake_slack, root, "oom-restart")).blocks)
        [incident] = await incident_views.list_open(pitcrew.app.deps)
        assert incident.service == "api"
    [call] = [c for c in sandbox.railway.calls if c.operation == "ServiceMetrics" and c.variables["stepSeconds"] == 60]
    assert call.variables["sampleRateSeconds"] == 60


async def test_a_metrics_check_on_a_railway_outage_fails_and_stays_current(db_url, fake_slack, sandbox: Sandbox):
    async with runbook_pitcrew(db_url, fake_slack, sandbox) as pitcrew:
        root = await api_goes_down(pitcrew, sandbox)
        await until(lambda: offers(fake_slack, root), what="the offer")
        await fake_slack.click(offers(fake_slack, root)[0], "runbook.run", user=RESPONDER, value="backend-down")
        for step_id in ("announce", "health", "status", "logs"):
            message = await step_message(fake_slack, root, step_id)
            await fake_slack.click(message, "runbook.skip", user=RESPONDER)
            await ended(message, "Skipped")
        step = await step_message(fake_slack, root, "metrics")
        sandbox.world.fail_field("httpDurationMetrics", "metrics backend unavailable")
        await fake_slack.click(step, "runbook.run", user=RESPONDER)
        await until(lambda: "metrics backend unavailable" in str(step.blocks), what="the failure said")
        assert not [u for u in fake_slack.uploads.values() if u.get("filename") == "api-metrics.png"]
        assert pitcrew is not None
