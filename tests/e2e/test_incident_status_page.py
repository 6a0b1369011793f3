"""`GET /status` and `GET /status.json`: public fields and public updates only, escaped, last 7 days."""

from __future__ import annotations

from app.catalog import StatusPageConfig
from tests.e2e.incident_support import generic_body, incident_catalog, pitcrew_for_incidents, roots, wait_until
from tests.fixtures import OPERATOR


def with_components(**components: str):  # type: ignore[no-untyped-def]
    """The incident tests' catalog, its status page showing these components under these public names."""
    catalog = incident_catalog()
    return catalog.model_copy(update={"status_page": StatusPageConfig(components=components)})


async def _command(pitcrew, text: str) -> None:  # type: ignore[no-untyped-def]
    before = len(pitcrew.slack.calls_to("response_url"))
    await pitcrew.app.command("/incident", text, user=OPERATOR)
    await wait_until(lambda: len(pitcrew.slack.calls_to("response_url")) > before)
    await pitcrew.run_jobs()


async def test_status_json_has_exactly_the_public_fields(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=with_components(api="Payments")) as pitcrew:
        await pitcrew.webhook(
            "generic", generic_body(description="db password=hunter2 on host 10.0.0.7", title="Checkout failing")
        )
        await pitcrew.run_jobs()
        await wait_until(lambda: bool(roots(fake_slack)))
        await _command(pitcrew, "1 ack")
        pitcrew.clock.advance(minutes=5)
        await _command(pitcrew, "1 update Payments are failing for some customers; we are rolling back")
        pitcrew.clock.advance(minutes=5)
        await _command(pitcrew, "1 resolve Rolled back; payments work again")

        response = await pitcrew.http.get("/status.json")
        assert response.status_code == 200
        doc = response.json()
        assert list(doc) == ["incidents", "name", "components", "history"]  # DESIGN.md's shape, extended
        assert doc["components"] == [{"name": "Payments", "status": "operational"}]
        [history] = doc["history"]
        assert history["name"] == "Payments" and len(history["days"]) == 90
        assert history["days"][0] == {"date": "2025-12-03", "uptime": 100.0, "severity": None}
        # Today, 09:10 UTC: 10 minutes down out of 550 elapsed.
        assert history["days"][-1] == {"date": "2026-03-02", "uptime": 98.18, "severity": "SEV1"}
        [incident] = doc["incidents"]
        assert set(incident) == {"id", "title", "severity", "state", "started_at", "resolved_at", "updates"}
        # Opened by an alert: a neutral title under the component's public name, never the alert's text.
        assert incident["id"] == "INC-1" and incident["title"] == "Service disruption: Payments"
        assert (incident["severity"], incident["state"]) == ("SEV1", "resolved")
        assert incident["started_at"] == "2026-03-02T09:00:00+00:00"
        assert incident["resolved_at"] == "2026-03-02T09:10:00+00:00"
        texts = [u["text"] for u in incident["updates"]]
        assert texts == [
            "Investigating.",
            "Payments are failing for some customers; we are rolling back",
            "Resolved. Rolled back; payments work again",
        ]
        assert all(set(u) == {"at", "text"} for u in incident["updates"])
        body = response.text
        for internal in ("hunter2", "10.0.0.7", "api", "acknowledged", "U0OPS1", "generic", "grafana", "Checkout"):
            assert internal not in body, internal


async def test_status_html_escapes_and_reads_on_a_phone(db_url, fake_slack):
    shady = "<script>alert(1)</script> & <b>down</b>"
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=with_components(api=shady)) as pitcrew:
        await pitcrew.webhook("generic", generic_body(title=shady))
        await pitcrew.run_jobs()
        page = await pitcrew.http.get("/status")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        html = page.text
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;down&lt;/b&gt;" in html
        assert 'name="viewport"' in html and "1 ongoing incident" in html
        data = (await pitcrew.http.get("/status.json")).json()
        assert data["incidents"][0]["title"] == f"Service disruption: {shady}"  # JSON carries it as data


async def test_status_lists_open_incidents_and_those_of_the_last_seven_days(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        await _command(pitcrew, "declare SEV3 Old hiccup")
        await _command(pitcrew, "1 resolve Fixed")
        await _command(pitcrew, "declare SEV4 Long-running cosmetic bug")  # stays open
        pitcrew.clock.advance(days=8)
        await _command(pitcrew, "declare SEV2 Fresh outage")
        ids = [i["id"] for i in (await pitcrew.http.get("/status.json")).json()["incidents"]]
        assert ids == ["INC-3", "INC-2"]  # INC-1 resolved 8 days ago; newest first
        html = (await pitcrew.http.get("/status")).text
        assert "Old hiccup" not in html and "Fresh outage" in html and "2 ongoing incidents" in html


async def test_status_with_nothing_to_report(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack) as pitcrew:
        doc = (await pitcrew.http.get("/status.json")).json()
        assert doc["incidents"] == [] and {c["status"] for c in doc["components"]} == {"operational"}
        assert "No ongoing incidents" in (await pitcrew.http.get("/status")).text
