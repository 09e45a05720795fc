"""Every chart the dashboard serves is valid Vega-Lite: the specs are built without Altair's checks (for speed),
so the schema judges them here, as the live dashboard answers them."""

from __future__ import annotations

import httpx
import pytest
from kit import vega_lite
from kit.dashboards import PERIOD

from wheelstats.dashboard.chart_specs import COMPARE_CHARTS, HOME_CHARTS, PROJECT_CHARTS

PROJECTS = ("flask-login", "octoprint")
PAGES = (
    [("home", name, {"period": period}) for name in HOME_CHARTS for period in (PERIOD, "all")]
    + [(f"project/{PROJECTS[0]}", name, {"period": period}) for name in PROJECT_CHARTS for period in (PERIOD, "all")]
    + [("compare", name, {"projects": ",".join(PROJECTS), "period": PERIOD}) for name in COMPARE_CHARTS]
)


@pytest.mark.parametrize(("page", "name", "params"),
                         [pytest.param(*case, id=f"{case[0]}/{case[1]}?{case[2]['period']}") for case in PAGES])
def test_every_chart_served_is_valid_vega_lite(dashboard_url, page, name, params):
    response = httpx.get(f"{dashboard_url}/stats/chart/{page}/{name}.json", params=params, timeout=120)
    assert response.status_code == 200, response.text
    spec = response.json()
    vega_lite.assert_valid(spec)
    assert spec["title"]["text"] and spec["config"]["font"] == "DejaVu Sans"
