"""A Vercel world to start from: the project the demo, the console and most tests run against.

Project `web` of a team: four production deployments (one failed to build), a preview, and its
environment variables (one sensitive, one with a value per target, one plain), with fixed ids tests
can name. A new kind of sample state is added here, through the `VercelWorld` methods that build it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from app.sandbox.vercel.world import FakeBuildEvent, FakeRuntimeLog, VercelWorld, utcnow

SAMPLE_TEAM_ID = "team_sandbox7Qf3Lr2Xw9Kp"
SAMPLE_PROJECT_ID = "prj_sandboxWeb4Hn8Tz2Vq6Md"
SAMPLE_DEPLOYMENT_IDS = (  # oldest to newest
    "dpl_Sbx1Landing7Kq2Wm9Zr4Tc",
    "dpl_Sbx2Pricing3Hv8Np5Lx1Fd",
    "dpl_Sbx3AppRouter6Jw2Qs8Yb",
    "dpl_Sbx4Hydration9Rt5Mk3Gz",
)
SAMPLE_PREVIEW_ID = "dpl_Sbx5PreviewDark2Vn7Cx"


def sample_world(now: datetime | None = None, *, clock: Callable[[], datetime] = utcnow) -> VercelWorld:
    """Project `web` of a team: four production deployments (one failed to build) and a preview."""
    now = now or clock()
    world = VercelWorld(clock=clock)
    world.add_project("web", project_id=SAMPLE_PROJECT_ID, team_id=SAMPLE_TEAM_ID, domain="www.acme-shop.example")
    world.set_env("web", "NEXT_PUBLIC_SITE_URL", "https://www.acme-shop.example")
    world.set_env("web", "REVALIDATE_TOKEN", "rv-sandbox-7f3a9c21")
    world.set_env("web", "CMS_PREVIEW_SECRET", "cms-sandbox-0b8e44", sensitive=True)
    # One entry per target with its own value (Vercel keeps a key per target), and a plain one.
    world.set_env("web", "NEXT_PUBLIC_API_URL", "https://api.acme-shop.example", targets=["production"])
    world.set_env("web", "NEXT_PUBLIC_API_URL", "https://api-preview.acme-shop.example", targets=["preview"])
    world.set_env("web", "NEXT_PUBLIC_ANALYTICS", "on", kind="plain")
    history = [
        (timedelta(days=3), "READY", "Landing page redesign", "Dana Ops"),
        (timedelta(days=1), "READY", "Add pricing page", "Lee Dev"),
        (timedelta(hours=5), "ERROR", "Migrate to App Router", "Lee Dev"),
        (timedelta(hours=2), "READY", "Fix hydration warning on /pricing", "Dana Ops"),
    ]
    for deployment_id, (ago, state, message, author) in zip(SAMPLE_DEPLOYMENT_IDS, history, strict=True):
        at = now - ago
        events = [
            FakeBuildEvent(at, "Cloning github.com/acme/web (Branch: main)", "stdout"),
            FakeBuildEvent(at + timedelta(seconds=5), 'Running "npm run build"', "command"),
        ]
        logs: list[FakeRuntimeLog] = []
        if state == "ERROR":
            events += [
                FakeBuildEvent(at + timedelta(seconds=40), "Type error: Property 'params' does not exist", "stderr"),
                FakeBuildEvent(at + timedelta(seconds=41), 'Error: Command "npm run build" exited with 1', "fatal"),
            ]
        else:
            events.append(FakeBuildEvent(at + timedelta(seconds=50), "Build Completed in /vercel/output [45s]"))
            logs = [
                FakeRuntimeLog(at + timedelta(minutes=10), "GET /pricing 200", path="/pricing"),
                FakeRuntimeLog(at + timedelta(minutes=11), "GET /api/cart 200", path="/api/cart"),
                FakeRuntimeLog(
                    at + timedelta(minutes=12),
                    "Warning: Extra attributes from the server: class",
                    level="warning",
                    path="/pricing",
                ),
                FakeRuntimeLog(
                    at + timedelta(minutes=13),
                    "TypeError: Cannot read properties of undefined (reading 'price')",
                    level="error",
                    path="/api/checkout",
                    method="POST",
                    status=500,
                ),
            ]
        world.add_deployment(
            "web",
            deployment_id=deployment_id,
            state=state,
            commit_message=message,
            author=author,
            at=at,
            commit_sha=uuid.uuid5(uuid.NAMESPACE_URL, deployment_id).hex + "0000000",
            build_events=events,
            runtime_logs=logs,
            error_message='Command "npm run build" exited with 1' if state == "ERROR" else None,
        )
    world.add_deployment(
        "web",
        deployment_id=SAMPLE_PREVIEW_ID,
        target=None,
        commit_message="WIP: dark mode",
        author="Lee Dev",
        at=now - timedelta(hours=1),
    )
    return world
