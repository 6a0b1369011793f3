"""The status page's 90 days per component: daily bars from public incidents' durations, readable
on a phone, in /status.json too; a private incident colours nothing."""

from __future__ import annotations

import re

from tests.e2e.incident_support import generic_body, pitcrew_for_incidents, roots, wait_until
from tests.e2e.test_incident_status_page import _command, with_components


async def test_history_bars_from_public_incidents_only_on_the_page_and_in_json(db_url, fake_slack):
    catalog = with_components(api="Payments", web="Website")
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=catalog) as pitcrew:
        await pitcrew.webhook("generic", generic_body(title="Checkout 5xx"))  # api, critical: SEV1
        await pitcrew.run_jobs()
        await wait_until(lambda: len(roots(fake_slack)) == 1)
        await pitcrew.webhook("generic", generic_body(title="Web down", service="web", fingerprint="web-down"))
        await pitcrew.run_jobs()
        await wait_until(lambda: len(roots(fake_slack)) == 2)
        await _command(pitcrew, "2 private")  # kept off the page: its downtime too
        pitcrew.clock.advance(minutes=72)  # 5% of a day
        await _command(pitcrew, "1 resolve Rolled back")
        await _command(pitcrew, "2 resolve Restarted")
        pitcrew.clock.advance(days=2)

        doc = (await pitcrew.http.get("/status.json")).json()
        payments, website = doc["history"]
        assert payments["name"] == "Payments" and website["name"] == "Website"
        assert [len(h["days"]) for h in (payments, website)] == [90, 90]
        outage = next(d for d in payments["days"] if d["date"] == "2026-03-02")
        assert outage == {"date": "2026-03-02", "uptime": 95.0, "severity": "SEV1"}
        assert payments["days"][-1] == {"date": "2026-03-04", "uptime": 100.0, "severity": None}
        assert all(d["uptime"] == 100.0 and d["severity"] is None for d in website["days"])
        assert website["uptime"] == 100.0 and 99.9 < payments["uptime"] < 100.0

        html = (await pitcrew.http.get("/status")).text
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
        assert html.count('<li class="bar ') == 180
        assert 'title="2026-03-02: 95% uptime, worst incident SEV1"' in html
        assert 'aria-label="2026-03-02: 95% uptime, worst incident SEV1"' in html
        assert 'aria-label="Website, past 90 days: 100% uptime"' in html
        assert html.count('<li class="bar red"') == 1 and "Web down" not in html


async def test_the_bars_share_the_width_so_a_360px_phone_needs_no_horizontal_scroll(db_url, fake_slack):
    async with pitcrew_for_incidents(db_url, fake_slack, catalog=with_components(api="Payments")) as pitcrew:
        html = (await pitcrew.http.get("/status")).text
    style = html[html.index("<style>"): html.index("</style>")]
    bars = re.search(r"\.bars \{\{?([^}]*)\}", style)
    bar = re.search(r"\.bars \.bar \{\{?([^}]*)\}", style)
    assert bars and bar
    # The row is a flex container as wide as the page; each bar grows and shrinks from zero with no
    # minimum width, so 90 bars take whatever width there is (328 px inside a 360 px phone's padding).
    assert "display: flex" in bars.group(1) and "width: 100%" in bars.group(1)
    assert "flex: 1 1 0" in bar.group(1) and "min-width: 0" in bar.group(1)
    assert not re.search(r"\bwidth: *[0-9]+px", style)  # nothing on the page has a fixed pixel width
    assert "max-width: 42rem" in style  # the page itself narrows with the screen
