"""End to end in headless Chromium: sign in, read the overview and an initiative with its charts drawn by the
locally served plotly.js, record a measurement through the form — and no request leaves the portal's host."""

from __future__ import annotations

import os
import shutil
from datetime import date, timedelta
from decimal import Decimal

import pytest

from apps.kpis.models import Measurement
from apps.kpis.services import measurement_record
from apps.portfolio.services import initiative_transition
from tests.factories import make_admin, make_initiative, make_kpi, make_unit, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PASSWORD = "correct horse battery staple"


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; .ci/run installs Debian's chromium package for these tests.")
        pytest.skip("Chromium is not installed (apt-get install chromium); CI runs these tests.")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield instance
        instance.close()


@pytest.fixture
def portfolio():
    admin = make_admin(username="browser-admin")
    unit = make_unit("Claims")
    lead = make_user(unit=unit, username="dana", first_name="Dana", last_name="Whitfield")
    initiative = make_initiative(actor=admin, unit=unit, owner=lead, name="Claims triage assistant")
    initiative_transition(actor=admin, initiative=initiative, to_stage="discovery", rationale="Promising")
    kpi = make_kpi(actor=admin, initiative=initiative, name="Average handling time",
                   baseline_date=date.today() - timedelta(days=120), target_date=date.today() + timedelta(days=240))
    for weeks in range(1, 5):
        measurement_record(actor=admin, kpi=kpi, date=date.today() - timedelta(weeks=weeks), value=100 - weeks * 2)
    return {"lead": lead, "initiative": initiative, "kpi": kpi}


def test_sign_in_read_charts_and_record_a_measurement(browser, live_server, portfolio):
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    failures: list[str] = []
    page.on("pageerror", lambda error: failures.append(str(error)))

    # sign in through the form
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "dana")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/portfolio/")
    assert page.text_content("h1") == "Portfolio overview"
    page.wait_for_selector("#funnel-chart .main-svg")  # plotly.js, served locally, drew the funnel

    # the initiative page draws the KPI chart
    key = portfolio["initiative"].key
    page.goto(f"{live_server.url}/portfolio/initiatives/{key}/")
    assert "Claims triage assistant" in page.text_content("h1")
    page.wait_for_selector(f"#kpi-chart-{portfolio['kpi'].pk} .main-svg")

    # record a measurement through the form
    page.goto(f"{live_server.url}/portfolio/kpis/{portfolio['kpi'].pk}/measurements/")
    page.fill("input[name=date]", date.today().isoformat())
    page.fill("input[name=value]", "88.5")
    page.click("text=Record value")
    page.wait_for_load_state("networkidle")
    assert Measurement.objects.get(kpi=portfolio["kpi"], date=date.today()).value == Decimal("88.5")

    assert failures == []
    outside = [url for url in requested if not url.startswith(live_server.url) and not url.startswith("data:")]
    assert outside == [], f"requests left the portal: {outside}"
