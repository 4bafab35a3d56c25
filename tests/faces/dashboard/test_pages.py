"""Every page over a real monitored store, through the whole ASGI app (no server needed)."""

from __future__ import annotations

import asyncio
import re
import string
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steadyml.adapters.store import Store
from steadyml.adapters.store.monitoring import MonitorStore
from steadyml.faces.dashboard import DashboardConfig, create_dashboard
from tests.faces.dashboard.conftest import TOKEN
from tests.faces.dashboard.scenario import Scenario


def _client_call(app: Any, method: str, path: str, **options: Any) -> httpx.Response:
    cookies: dict[str, str] = options.pop("cookies", {})
    if cookies:
        jar = "; ".join(f"{k}={v}" for k, v in cookies.items())
        options["headers"] = {**options.get("headers", {}), "Cookie": jar}

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.request(method, path, **options)

    return asyncio.run(run())


def _app(scenario: Scenario, store: Store, **config: Any) -> Any:
    return create_dashboard(
        store,
        config=DashboardConfig(reports_dir=scenario.directory / "reports", **config),
        references=scenario.references,
    )


PAGES = [
    "/",
    "/services/employment",
    "/services/employment?range=all",
    "/services/employment/features/AGEP?range=all",
    "/services/employment/features/ANC?range=6h&at=2016-03-01T00:40",
    "/incidents",
    "/incidents?status=open&severity=P1&service=employment&triage=model",
    "/incidents/1",
    "/models/employment",
    "/models/employment?at=2016-03-01T00:40",
    "/models/employment/versions/2",
    "/reports",
    "/reports?kind=drift",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_with_its_json_twin(scenario: Scenario, store: Store, path: str) -> None:
    app = _app(scenario, store)
    page = _client_call(app, "GET", path)
    assert page.status_code == 200, page.text[:500]
    assert '<main id="content">' in page.text
    twin = _client_call(app, "GET", "/api" + path)
    assert twin.status_code == 200
    body = twin.json()
    assert set(body) == {"html", "figures", "title"}
    assert "<html" not in body["html"]  # the fragment only


def test_overview_shows_the_champion_rates_and_open_incidents(
    scenario: Scenario, store: Store
) -> None:
    html = _client_call(_app(scenario, store), "GET", "/").text
    assert ">v2<" in html  # the champion after the promotion
    assert "nan output on version 2" in html
    assert "feature drift: AGEP" in html
    # 3,000 records per 5-minute window: 10 requests per second
    assert re.search(r"<td>10</td>", html)


def test_service_page_draws_version_shading_and_the_drift_heatmap(
    scenario: Scenario, store: Store
) -> None:
    body = _client_call(_app(scenario, store), "GET", "/api/services/employment?range=all").json()
    figures = body["figures"]
    assert {"traffic", "latency", "rates", "heatmap", "predictions", "performance"} <= set(figures)
    shading = [a["text"] for a in figures["rates"]["layout"]["annotations"]]
    assert shading == ["v1", "v2"]
    heat = figures["heatmap"]["data"][0]
    assert heat["y"][0] == "AGEP"  # the shifted feature ranks first
    fallback = next(t for t in figures["rates"]["data"] if t["name"] == "fallback")
    values = [v for v in fallback["y"] if v is not None]
    assert values[0] == 0.0 and max(values) > 5.0  # percent: ~8 % NaN answers under v2


def test_feature_page_compares_reference_and_window(scenario: Scenario, store: Store) -> None:
    body = _client_call(
        _app(scenario, store), "GET", "/api/services/employment/features/AGEP?range=all"
    ).json()
    bars = body["figures"]["distribution"]["data"]
    assert [b["name"].split(" ")[0] for b in bars] == ["reference", "window"]
    assert abs(sum(bars[0]["y"]) - 100.0) < 1e-6
    assert "drift" in body["figures"]["distribution"]["layout"]["title"]["text"]


def test_what_served_at_time_t(scenario: Scenario, store: Store) -> None:
    app = _app(scenario, store)
    before = _client_call(app, "GET", "/models/employment?at=2016-03-01T00:10").text
    after = _client_call(app, "GET", "/models/employment?at=2016-03-01T00:45").text
    assert "version 1</a>" in before and "version 2</a>" in after


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/services/unknown", 404),
        ("/services/employment/features/NOPE", 404),
        ("/incidents/999", 404),
        ("/incidents/abc", 404),
        ("/models/employment/versions/7", 404),
        ("/models/employment/versions/x", 404),
        ("/models/nobody", 404),
        ("/reports/../steadyml.db", 404),
        ("/reports/missing.html", 404),
        ("/no/such/page", 404),
        ("/services/employment?range=9y", 400),
        ("/services/employment?colour=red", 400),
        ("/incidents?page=0", 400),
        ("/incidents?status=open&status=all", 400),
        ("/incidents?severity=P9", 400),
        ("/models/employment?at=yesterday", 400),
    ],
)
def test_bad_addresses_are_404_and_bad_queries_400(
    scenario: Scenario, store: Store, path: str, status: int
) -> None:
    app = _app(scenario, store)
    page = _client_call(app, "GET", path)
    assert page.status_code == status
    assert "this is a bug" not in page.text
    if not path.startswith("/reports/") and not path.startswith("/no/"):
        twin = _client_call(app, "GET", "/api" + path)
        assert twin.status_code == status
        assert twin.json()["error"] in ("not found", "bad query")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(["range", "at", "status", "severity", "page", "service", "x"]),
    value=st.text(alphabet=string.printable, max_size=30),
    path=st.sampled_from(["/incidents", "/services/employment", "/models/employment"]),
)
def test_arbitrary_query_values_never_crash(
    scenario: Scenario, store: Store, name: str, value: str, path: str
) -> None:
    response = _client_call(_app(scenario, store), "GET", f"/api{path}", params={name: value})
    assert response.status_code in (200, 400, 404), response.text[:300]


def _form(app: Any, path: str, **fields: str) -> httpx.Response:
    page = _client_call(app, "GET", "/incidents/1")
    csrf = page.cookies.get("steadyml_csrf") or ""
    data = {"csrf": csrf, **fields}
    return _client_call(
        app, "POST", path, data=data, cookies={"steadyml_csrf": csrf},
        headers={"Origin": "http://testserver"},
    )  # fmt: skip


def test_acknowledge_with_the_token_lands_in_the_audit_log(
    scenario: Scenario, store: Store
) -> None:
    app = _app(scenario, store, token=TOKEN)
    done = _form(app, "/incidents/1/acknowledge", reason="on it", actor="ana", token=TOKEN)
    assert done.status_code == 303
    [entry] = [e for e in store.audit_log("employment") if e.action == "acknowledge"]
    assert (entry.actor, entry.reason, entry.incident_id) == ("ana", "on it", 1)
    assert [e.kind for e in MonitorStore(store).events(incident_id=1)][-1] == "acknowledged"
    assert "acknowledged" in _client_call(app, "GET", "/incidents/1").text


def test_resolve_closes_the_incident_and_its_alerts(scenario: Scenario, store: Store) -> None:
    app = _app(scenario, store, token=TOKEN)
    done = _client_call(
        app, "POST", "/incidents/2/resolve", data={"reason": "rolled back by hand"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )  # fmt: skip
    assert done.status_code == 200 and done.json()["kind"] == "resolved"
    monitor = MonitorStore(store)
    assert monitor.incident(2).status == "resolved"
    assert all(a.status == "resolved" for a in monitor.alerts(2))
    again = _client_call(
        app, "POST", "/incidents/2/resolve", data={"reason": "twice"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )  # fmt: skip
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("fields", "headers", "status"),
    [
        ({"reason": "x", "token": TOKEN, "csrf": "forged"}, {}, 403),  # CSRF mismatch
        ({"reason": "x", "token": "wrong"}, {}, 401),  # wrong token
        ({"reason": "x"}, {}, 401),  # no token
        ({"reason": "x", "token": TOKEN}, {"Origin": "http://evil.example"}, 403),
        ({"reason": ""}, {"Authorization": f"Bearer {TOKEN}"}, 400),  # no reason
        ({"reason": "x"}, {"Authorization": "Bearer nope"}, 401),
    ],
)
def test_actions_without_token_or_from_elsewhere_are_refused(
    scenario: Scenario, store: Store, fields: dict[str, str], headers: dict[str, str], status: int
) -> None:
    app = _app(scenario, store, token=TOKEN)
    page = _client_call(app, "GET", "/incidents/1")
    csrf = page.cookies.get("steadyml_csrf") or ""
    data = {"csrf": csrf, **fields}
    response = _client_call(
        app, "POST", "/incidents/1/acknowledge", data=data, cookies={"steadyml_csrf": csrf},
        headers={"Origin": "http://testserver", **headers},
    )  # fmt: skip
    assert response.status_code == status, response.text[:300]
    assert not [e for e in store.audit_log("employment") if e.action == "acknowledge"]


def test_without_a_configured_token_the_dashboard_is_read_only(
    scenario: Scenario, store: Store
) -> None:
    response = _client_call(
        _app(scenario, store), "POST", "/incidents/1/acknowledge", data={"reason": "x"},
        headers={"Authorization": "Bearer anything"},
    )  # fmt: skip
    assert response.status_code == 403
    assert "read-only" in response.text


def test_reading_can_require_the_token(scenario: Scenario, store: Store) -> None:
    app = _app(scenario, store, token=TOKEN, require_token=True)
    assert _client_call(app, "GET", "/").status_code == 401
    assert (
        _client_call(app, "GET", "/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code
        == 200
    )
    login = _client_call(app, "GET", "/login")
    csrf = login.cookies.get("steadyml_csrf") or ""
    signed = _client_call(
        app, "POST", "/login", data={"csrf": csrf, "token": TOKEN},
        cookies={"steadyml_csrf": csrf}, headers={"Origin": "http://testserver"},
    )  # fmt: skip
    assert signed.status_code == 303
    session = signed.cookies.get("steadyml_session") or ""
    assert TOKEN not in session
    assert _client_call(app, "GET", "/", cookies={"steadyml_session": session}).status_code == 200


def test_mounted_under_a_prefix_links_stay_inside_it(scenario: Scenario, store: Store) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    outer = Starlette(routes=[Mount("/ui", app=_app(scenario, store))])
    html = _client_call(outer, "GET", "/ui/").text
    assert 'href="/ui/services/employment"' in html
    assert 'src="/ui/static/plotly.min.js"' in html
    assert _client_call(outer, "GET", "/ui/static/plotly.min.js").status_code == 200
