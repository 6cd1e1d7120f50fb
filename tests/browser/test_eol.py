"""An operator runs the EOL sequences from the tablet and watches them finish."""

import pytest

from tests.factories import agent_running
from workshop.accounts.services import grant_qualification

pytestmark = pytest.mark.browser


@pytest.fixture
def bench(app):
    # a customer's car is tested on a bay of its centre: here a development bay, the simulated
    # car on python-can's virtual bus
    bay = {"interface": "virtual", "channel": "browser", "car": "simulated"}
    with agent_running(app, {"BAY-B": bay}):
        yield


def test_operator_runs_eol_and_sees_the_verdict(
    app, bench, create_centre, create_user, live_server, new_page, log_in, shot, open_real_job
):
    centre = create_centre(code="EOLB1")
    operator = create_user("technician", centre=centre, username="operator")
    grant_qualification(operator, "eol_operator")
    supervisor = create_user("supervisor", centre=centre)
    job = open_real_job(centre, supervisor, "MR053REH105000777", manual_id="toyota-vios-ncp93")
    page = new_page("landscape")
    log_in(page, "operator")
    page.goto(f"{live_server}/jobs/{job.id}")
    page.click("#eol-link")
    shot(page, "eol-job-runs")
    page.click("#start-run")
    page.wait_for_url("**/eol/runs/*")
    page.locator("#verdict .outcome-pass").wait_for(timeout=60_000)
    assert page.locator(".check-row").count() > 10
    assert page.locator(".check-fail, .check-error").count() == 0
    assert page.locator("svg.chart").count() >= 2
    shot(page, "eol-run-passed")
