"""Fault plans and the request log, through MockServer and through the /_mock/* routes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from httpx_sse import EventSource

from inference_api_mock.faults import MALFORMED_JSON, Fault, FaultBook, RecordedRequest, RequestLog
from inference_api_mock.models import ECHO, LLAMA
from inference_api_mock.spec import load_spec
from inference_api_mock.testing import MockServer
from tests.server.conftest import TOKEN, bearer, create

GET_ROUTE = "GET /v1/predictions/{prediction_id}"
RUN = {"model": ECHO, "input": {"a": 1}}
SSE: dict[str, Any] = {"model": LLAMA, "input": {"prompt": "cut me", "max_new_tokens": 30}}


@pytest.mark.parametrize(("status", "retry_after"), [(503, "1"), (429, "Wed, 21 Oct 2015 07:28:00 GMT"), (520, None)])
def test_status_faults_answer_once_then_the_real_answer(
    server: MockServer, client: httpx.Client, status: int, retry_after: str | None
) -> None:
    prediction = create(client)
    server.fault(GET_ROUTE, status=status, retry_after=retry_after)
    faulted = client.get(f"/v1/predictions/{prediction['id']}")
    assert faulted.status_code == status
    assert faulted.headers.get("retry-after") == retry_after
    assert faulted.headers["content-type"] == "application/json"
    assert set(faulted.json()) == {"detail"}
    assert client.get(f"/v1/predictions/{prediction['id']}").status_code == 200


def test_times_and_any_id_match(server: MockServer, client: httpx.Client) -> None:
    server.fault("POST /v1/predictions/{prediction_id}/cancel", times=2, status=500)
    assert client.post("/v1/predictions/one/cancel").status_code == 500
    assert client.post("/v1/predictions/two/cancel").status_code == 500
    assert client.post("/v1/predictions/three/cancel").status_code == 404  # the real answer again
    assert client.get("/v1/predictions/one").status_code == 404  # another route was never planned


def test_html_body_fault(server: MockServer, client: httpx.Client) -> None:
    server.fault("POST /v1/run", status=502, body="<html>502 Bad Gateway</html>", content_type="text/html")
    response = client.post("/v1/run", json=RUN)
    assert (response.status_code, response.headers["content-type"], response.text) == (
        502,
        "text/html",
        "<html>502 Bad Gateway</html>",
    )


def test_malformed_json_fault(server: MockServer, client: httpx.Client) -> None:
    server.fault("POST /v1/run", malformed_json=True)
    response = client.post("/v1/run", json=RUN)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.content == MALFORMED_JSON
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_delay_fault_slows_the_real_answer(server: MockServer, client: httpx.Client) -> None:
    server.fault("POST /v1/run", delay=0.3)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/v1/run", json=RUN, timeout=0.05)
    assert client.post("/v1/run", json=RUN).status_code == 200


def test_cut_after_events_ends_the_stream_cleanly_without_done(server: MockServer, client: httpx.Client) -> None:
    server.fault("POST /v1/run_sse", cut_after_events=4)
    with client.stream("POST", "/v1/run_sse", json=SSE) as response:
        events = list(EventSource(response).iter_sse())
    assert [event.id for event in events] == ["1", "2", "3", "4"]
    created = create(client, LLAMA, SSE["input"], stream=True)
    server.fault("GET /v1/predictions/{prediction_id}/stream", cut_after_events=2)
    with client.stream("GET", created["urls"]["stream"]) as response:
        assert [event.id for event in EventSource(response).iter_sse()] == ["1", "2"]
    # The client resumes where the cut left it.
    with client.stream("GET", created["urls"]["stream"], headers={"Last-Event-ID": "2"}) as response:
        rest = list(EventSource(response).iter_sse())
    assert rest[0].id == "3" and rest[-1].event == "done"


def test_close_mid_body_is_a_transport_error(server: MockServer, client: httpx.Client) -> None:
    server.fault("POST /v1/run", close_mid_body=True)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/v1/run", json=RUN)
    server.fault("POST /v1/run_sse", close_mid_body=True, cut_after_events=3)
    ids: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError), client.stream("POST", "/v1/run_sse", json=SSE) as response:
        ids.extend(event.id for event in EventSource(response).iter_sse())
    assert ids == ["1", "2", "3"]
    server.fault("POST /v1/run", status=503, close_mid_body=True)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/v1/run", json=RUN)
    assert client.post("/v1/run", json=RUN).status_code == 200


def test_clear_faults(server: MockServer, client: httpx.Client) -> None:
    server.fault("POST /v1/run", status=503, times=5)
    server.clear_faults()
    assert client.post("/v1/run", json=RUN).status_code == 200


def test_requests_are_recorded_oldest_first_with_headers_and_body(server: MockServer, client: httpx.Client) -> None:
    server.clear_requests()
    client.post("/v1/run", json=RUN)
    client.get("/v1/predictions/nothing", headers={"X-Trace": "t1"})
    first, second = server.requests
    assert (first.method, first.path, json.loads(first.body)) == ("POST", "/v1/run", RUN)
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert (second.method, second.path, second.body, second.headers["x-trace"]) == (
        "GET",
        "/v1/predictions/nothing",
        b"",
        "t1",
    )
    assert TOKEN not in repr(first)


def test_unknown_routes_and_bad_options_are_refused(server: MockServer) -> None:
    with pytest.raises(ValueError, match="unknown route"):
        server.fault("GET /v1/nowhere", status=500)
    with pytest.raises(ValueError, match="times"):
        server.fault(GET_ROUTE, times=0)
    with pytest.raises(TypeError):
        server.fault(GET_ROUTE, color="red")
    assert sorted(FaultBook(load_spec().route_templates()).routes) == sorted(
        f"{method} {path}" for method, path in load_spec().route_templates()
    )


def test_faults_need_to_be_enabled() -> None:
    with MockServer(tokens=(TOKEN,)) as server:
        with pytest.raises(RuntimeError, match="faults=True"):
            server.fault("POST /v1/run", status=503)
        for method, path in [("POST", "/_mock/faults"), ("DELETE", "/_mock/faults"), ("GET", "/_mock/requests")]:
            response = httpx.request(method, server.base_url + path, headers=bearer(TOKEN))
            assert response.status_code in {404, 405}  # the admin routes do not exist


def test_admin_routes_over_http(server: MockServer, client: httpx.Client) -> None:
    assert httpx.post(f"{server.base_url}/_mock/faults", json={"route": "POST /v1/run"}).status_code == 401
    planned = client.post("/_mock/faults", json={"route": "POST /v1/run", "status": 429, "retry_after": "2"})
    assert planned.status_code == 201 and planned.json()["data"]["status"] == 429
    throttled = client.post("/v1/run", json=RUN)
    assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "2")
    client.post("/_mock/faults", json={"route": "POST /v1/run", "status": 503, "times": 3})
    assert client.delete("/_mock/faults").status_code == 204
    assert client.post("/v1/run", json=RUN).status_code == 200
    recorded = client.get("/_mock/requests").json()["data"]
    assert recorded[-1]["path"] == "/v1/run" and json.loads(recorded[-1]["body"]) == RUN
    assert recorded[-1]["headers"]["authorization"] == "Bearer <redacted>"
    assert all(not entry["path"].startswith("/_mock/") for entry in recorded)
    for bad in (
        {"route": "GET /nowhere"},
        {"route": "POST /v1/run", "nope": 1},
        ["x"],
        {"route": "POST /v1/run", "times": 0},
    ):
        response = client.post("/_mock/faults", json=bad)
        assert response.status_code == 422 and isinstance(response.json()["detail"], str)


def test_fault_defaults() -> None:
    fault = Fault(route="POST /v1/run", status=503)
    status, headers, body = fault.response()
    assert status == 503 and json.loads(body) == {"detail": "Service Unavailable"}
    assert (b"content-type", b"application/json") in headers
    with pytest.raises(ValueError, match="status"):
        Fault(route="POST /v1/run", status=999)


@pytest.mark.parametrize(
    "fields",
    [
        {"retry_after": 5},
        {"retry_after": "1\r\nX-Injected: yes"},
        {"retry_after": "€"},
        {"body": 123},
        {"content_type": ["application/json"]},
        {"status": "503"},
        {"delay": "1"},
        {"cut_after_events": "2"},
        {"cut_after_events": -1},
        {"malformed_json": "yes"},
        {"times": 1.5},
    ],
)
def test_fault_fields_of_the_wrong_type_are_refused_when_planned(client: httpx.Client, fields: dict[str, Any]) -> None:
    # Accepted, they would only fail later, as a 5xx to the request the fault applies to.
    response = client.post("/_mock/faults", json={"route": "POST /v1/run", **fields})
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], str)
    assert client.post("/v1/run", json=RUN).status_code == 200


def test_the_request_log_is_bounded_in_count_and_in_body_bytes() -> None:
    log = RequestLog(max_requests=5, max_body_bytes=1000)
    for number in range(8):
        log.append(RecordedRequest("POST", f"/{number}", {}, b"x"))
    assert [r.path for r in log.snapshot()] == ["/3", "/4", "/5", "/6", "/7"]
    for number in range(3):
        log.append(RecordedRequest("POST", f"/big{number}", {}, b"x" * 400))
    assert [r.path for r in log.snapshot()] == ["/big1", "/big2"]  # 1202 bytes with /6, /7 and /big0
    log.append(RecordedRequest("POST", "/huge", {}, b"x" * 5000))  # the newest stays, however large
    assert [r.path for r in log.snapshot()] == ["/huge"]


def test_a_tokens_plans_and_in_process_plans_apply_in_the_order_planned() -> None:
    book = FaultBook(load_spec().route_templates())
    route, path = "GET /v1/predictions/{prediction_id}", "/v1/predictions/abc"
    book.add(Fault(route=route, status=500), "a")
    book.add(Fault(route=route, status=501))  # in-process: everyone's
    book.add(Fault(route=route, status=502, times=2), "a")
    book.add(Fault(route="POST /v1/run", status=503), "a")
    assert [getattr(book.take("GET", path, "b"), "status", None) for _ in range(2)] == [501, None]
    assert [getattr(book.take("GET", path, "a"), "status", None) for _ in range(4)] == [500, 502, 502, None]
    assert getattr(book.take("POST", "/v1/run", "a"), "status", None) == 503


def test_the_request_log_keeps_each_owner_apart() -> None:
    log = RequestLog(max_requests=3)
    log.append(RecordedRequest("GET", "/a", {}, b"", "a"))
    for number in range(5):
        log.append(RecordedRequest("GET", f"/none{number}", {}, b""))
    log.append(RecordedRequest("GET", "/b", {}, b"", "b"))
    assert [r.path for r in log.snapshot("a")] == ["/a"]
    assert [r.path for r in log.snapshot()] == ["/a", "/none2", "/none3", "/none4", "/b"], "in arrival order"
    log.clear("a")
    assert log.snapshot("a") == [] and len(log.snapshot()) == 4


def test_a_fault_with_a_probability_hits_that_share_of_requests_at_random() -> None:
    import random

    book = FaultBook(load_spec().route_templates(), dice=random.Random(7))
    book.add(Fault(route=GET_ROUTE, status=429, times=10_000, probability=0.5))
    hits = [book.take("GET", f"/v1/predictions/p{n}") is not None for n in range(2000)]
    assert 900 <= sum(hits) <= 1100, "about half"
    assert hits[:40] != [hits[0]] * 40, "spread at random, not in a run"
    book.add(Fault(route="POST /v1/predictions", status=500, times=3, probability=0.25))
    taken = 0
    for _ in range(1000):
        taken += book.take("POST", "/v1/predictions") is not None
    assert taken == 3, "a request it spares uses none of its times"
    for bad in (0, 1.5, -0.1):
        with pytest.raises(ValueError, match="probability"):
            Fault(route=GET_ROUTE, status=429, probability=bad)


def test_a_probability_fault_over_http(server: MockServer, client: httpx.Client) -> None:
    planned = client.post(
        "/_mock/faults", json={"route": "POST /v1/predictions", "status": 429, "times": 1000, "probability": 0.5}
    )
    assert planned.status_code == 201 and planned.json()["data"]["probability"] == 0.5
    statuses = [
        client.post("/v1/predictions", json={"version": ECHO.split(":")[1], "input": {}}).status_code for _ in range(60)
    ]
    client.delete("/_mock/faults")
    assert set(statuses) == {201, 429}
