"""Bad input never gives a 5xx: every malformed request gets a clear 4xx with a `detail`."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from inference_api_mock.app import DEFAULT_MAX_BODY_BYTES
from inference_api_mock.models import ECHO, LLAMA
from inference_api_mock.testing import MockServer
from tests.server.conftest import TOKEN, assert_documented, version_of

VERSION = version_of(ECHO)
JSON = {"Content-Type": "application/json"}


def assert_clear_4xx(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert_documented("ErrorResponse", body)
    assert body["detail"]
    return body["detail"]


@pytest.mark.parametrize(
    ("content", "loc"),
    [
        (b"{not json", ["body"]),
        (b'{"version": "' + VERSION.encode() + b'", "input": {}', ["body"]),  # truncated
        (b"", ["body"]),
        (b"\xff\xfe{}", ["body"]),  # not UTF-8
        (b'{"version": "' + VERSION.encode() + b'", "input": {"x": NaN}}', ["body"]),
        (b'{"version": "' + VERSION.encode() + b'", "input": {"x": 1e999}}', ["body"]),
        (b'{"version": "' + VERSION.encode() + b'", "input": {"x": ' + b"9" * 5000 + b"}}", ["body"]),
        (b'{"version": "' + VERSION.encode() + b'", "input": {"x": "\\ud800"}}', ["body"]),
        (b"[" * 100 + b"]" * 100, ["body"]),
        (b"[" * 100_000, ["body"]),
    ],
)
def test_malformed_json_is_422(client: httpx.Client, content: bytes, loc: list[str]) -> None:
    for path in ("/v1/predictions", "/v1/run", "/v1/run_sse"):
        detail = assert_clear_4xx(client.post(path, content=content, headers=JSON), 422)
        assert detail[0]["loc"] == loc


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        ({"input": {}}, ["body", "version"], "missing"),
        ({"version": VERSION}, ["body", "input"], "missing"),
        ({"version": 5, "input": {}}, ["body", "version"], "string_type"),
        ({"version": "abc", "input": {}}, ["body", "version"], "string_pattern_mismatch"),
        ({"version": VERSION, "input": []}, ["body", "input"], "object_type"),
        ({"version": VERSION, "input": {}, "stream": "yes"}, ["body", "stream"], "boolean_type"),
        ({"version": VERSION, "input": {}, "webhook": "not a url"}, ["body", "webhook"], "uri_format"),
        (
            {"version": VERSION, "input": {}, "webhook_events_filter": ["never"]},
            ["body", "webhook_events_filter", 0],
            "enum",
        ),
        ({"version": VERSION, "input": {}, "extra": 1}, ["body", "extra"], "extra_forbidden"),
        ([], ["body"], "object_type"),
        ("text", ["body"], "object_type"),
        (0, ["body"], "object_type"),
    ],
)
def test_wrong_types_and_missing_fields_are_422_fastapi_style(
    client: httpx.Client, body: object, loc: list[object], kind: str
) -> None:
    detail = assert_clear_4xx(client.post("/v1/predictions", json=body), 422)
    assert {"loc": loc, "type": kind} in [{"loc": issue["loc"], "type": issue["type"]} for issue in detail]


@pytest.mark.parametrize(
    "body",
    [
        {"input": {}},
        {"model": "no-version", "input": {}},
        {"model": LLAMA, "input": "x"},
        {"model": LLAMA, "input": {}, "x": 1},
    ],
)
def test_run_bodies_are_checked_too(client: httpx.Client, body: object) -> None:
    for path in ("/v1/run", "/v1/run_sse"):
        assert_clear_4xx(client.post(path, json=body), 422)


def test_oversized_bodies_are_413(client: httpx.Client) -> None:
    big = b'{"version": "' + VERSION.encode() + b'", "input": {"x": "' + b"a" * DEFAULT_MAX_BODY_BYTES + b'"}}'
    assert_clear_4xx(client.post("/v1/predictions", content=big, headers=JSON), 413)

    def chunks() -> Any:  # no Content-Length: the server must count as it reads
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    assert_clear_4xx(client.post("/v1/run", content=chunks(), headers=JSON), 413)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None])
def test_wrong_content_types_are_415(client: httpx.Client, content_type: str | None) -> None:
    body = b'{"version": "' + VERSION.encode() + b'", "input": {}}'
    headers = {"Content-Type": content_type} if content_type else {}
    for path in ("/v1/predictions", "/v1/run", "/v1/run_sse"):
        assert_clear_4xx(client.post(path, content=body, headers=headers), 415)
    assert (
        client.post(
            "/v1/predictions", content=body, headers={"Content-Type": "application/json; charset=utf-8"}
        ).status_code
        == 201
    )


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/predictions", "POST"),
        ("DELETE", "/v1/predictions", "POST"),
        ("PUT", "/v1/predictions/abc", "GET, HEAD"),
        ("GET", "/v1/predictions/abc/cancel", "POST"),
        ("POST", "/v1/predictions/abc/stream", "GET, HEAD"),
        ("GET", "/v1/run", "POST"),
        ("PATCH", "/v1/run_sse", "POST"),
    ],
)
def test_wrong_methods_are_405_with_allow(client: httpx.Client, method: str, path: str, allow: str) -> None:
    response = client.request(method, path)
    assert_clear_4xx(response, 405)
    assert set(response.headers["allow"].split(", ")) == set(allow.split(", "))


@pytest.mark.parametrize(
    ("prediction_id", "status"),
    [
        ("a" * 65, 422),
        ("has.dot", 422),
        ("%20", 422),
        ("caf%C3%A9", 422),
        ("%2e%2e", 422),
        ("a%2Fb", 404),
        ("unknownbutvalid", 404),
    ],
)
def test_odd_ids_get_a_4xx(client: httpx.Client, prediction_id: str, status: int) -> None:
    for suffix, method in (("", "GET"), ("/cancel", "POST"), ("/stream", "GET")):
        response = client.request(method, f"/v1/predictions/{prediction_id}{suffix}")
        assert_clear_4xx(response, status)


@pytest.mark.parametrize(
    ("raw_path", "status"),
    [
        (b"/v1/predictions/..", 422),
        (b"/v1/predictions/.", 422),
        (b"/v1/predictions/../cancel", 422),
        (b"/v1/predictions//cancel", 404),
        (b"/v1/predictions/", 404),
        (b"/v1/../v1/run", 404),
    ],
)
def test_dot_segments_never_escape_their_path(server: MockServer, raw_path: bytes, status: int) -> None:
    # Sent on a raw socket: HTTP clients would normalise these paths before sending.
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(
            b"GET " + raw_path + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() + b"\r\n"
            b"Connection: close\r\n\r\n"
        )
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.split(b" ")[1] in {str(status).encode(), b"405"}, answer
    assert b'"detail"' in answer


def test_unknown_paths_are_404_json(client: httpx.Client) -> None:
    assert assert_clear_4xx(client.get("/v2/nothing"), 404) == "Not Found"
