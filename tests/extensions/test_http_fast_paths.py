"""The quick ways `_http` takes where httpx is slow must come out as httpx's own: URLs on the base
URL joined without parsing them again, and cookies skipped only where a response sets none."""

from __future__ import annotations

import functools

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inference_api import _http
from inference_api.connection import InferenceClient, connect
from inference_api_client.api.predictions import cancel_prediction, get_prediction
from tests.extensions.calls_support import TOKEN

BASE_URLS = [
    "http://127.0.0.1:8000",
    "https://api.example.com/",
    "https://api.example.com/prefix",
    "https://api.example.com/prefix/v2/",
    "http://[::1]:8080",
    "https://user:secret@host.example:8443/a%20b/",
    "https://xn--bcher-kva.example/",
]
PLAIN_PATHS = [
    "/v1/predictions",
    "/v1/predictions/ujebapbbulzpx25442efjv4qba",
    "/v1/predictions/a%2Fb%3F%23%25",
    "/a//b",
    "/~user/x.y-z_w",
    "/a:b@c!$&'()*+,;=",
    "/",
]
OTHER_PATHS = ["/a b", "/é", "/./x", "/a/../b", "/a/.", "/x?y=1", "/x#f", "//evil.example/x", "/%zz", "/a%2"]


@functools.cache
def client_for(base_url: str) -> InferenceClient:
    return connect(TOKEN, base_url)  # one each: an httpx client costs an SSL context


def built(base_url: str, path: str) -> tuple[httpx.Request, httpx.Request]:
    client = client_for(base_url)
    http_client = client.get_httpx_client()
    ours = _http.build_request(client, http_client, {"method": "get", "url": path, "headers": {"X-A": "1"}})
    theirs = http_client.build_request("get", path, headers={"X-A": "1"})
    return ours, theirs


def assert_same(ours: httpx.Request, theirs: httpx.Request) -> None:
    assert str(ours.url) == str(theirs.url)
    assert ours.url == theirs.url
    assert (ours.url.raw_path, ours.url.host, ours.url.port, ours.url.scheme) == (
        theirs.url.raw_path,
        theirs.url.host,
        theirs.url.port,
        theirs.url.scheme,
    )
    assert ours.headers.multi_items() == theirs.headers.multi_items()
    assert ours.method == theirs.method


@pytest.mark.parametrize("base_url", BASE_URLS)
@pytest.mark.parametrize("path", PLAIN_PATHS)
def test_a_plain_path_is_joined_without_httpx_and_as_httpx_joins_it(base_url: str, path: str) -> None:
    client = client_for(base_url)
    assert _http._on_base_url(client.get_httpx_client().base_url, path) is not None  # the quick way is taken
    assert_same(*built(base_url, path))


@pytest.mark.parametrize("base_url", BASE_URLS[:3])
@pytest.mark.parametrize("path", OTHER_PATHS)
def test_other_paths_are_left_to_httpx(base_url: str, path: str) -> None:
    client = client_for(base_url)
    assert _http._on_base_url(client.get_httpx_client().base_url, path) is None
    ours, theirs = built(base_url, path)
    assert str(ours.url) == str(theirs.url)


@pytest.mark.parametrize("prediction_id", ["ujebapbbulzpx25442efjv4qba", "a?b#c", "100%", "ü", "~.-_"])
def test_the_generated_endpoints_paths_come_out_as_httpx_makes_them(prediction_id: str) -> None:
    for kwargs in (get_prediction._get_kwargs(prediction_id), cancel_prediction._get_kwargs(prediction_id)):
        assert_same(*built("https://api.example.com/prefix", kwargs["url"]))


@given(st.text(alphabet="abz09-._~!$&'()*+,;=:@/%2Fé ?#", max_size=30))
def test_any_path_comes_out_as_httpx_makes_it(tail: str) -> None:
    path = "/" + tail
    try:
        theirs = client_for("https://api.example.com/p/").get_httpx_client().build_request("get", path)
    except httpx.InvalidURL:
        return
    ours, _ = built("https://api.example.com/p/", path)
    assert str(ours.url) == str(theirs.url)


def test_cookies_a_response_sets_are_kept_and_sent_back() -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        headers = [("Set-Cookie", "session=abc; Path=/")] if len(seen) == 1 else [("X-Other", "1")]
        return httpx.Response(200, headers=headers, json={"ok": True})

    client = connect(TOKEN, "https://api.example.com", httpx_args={"transport": httpx.MockTransport(answer)})
    for _ in range(3):
        _http.send(client, {"method": "get", "url": "/v1/x"}, idempotent=True)
    http_client = client.get_httpx_client()
    assert isinstance(http_client.cookies, _http._Cookies)  # the quick jar is in place
    assert seen == [None, "session=abc", "session=abc"]
    assert http_client.cookies.get("session") == "abc"


def test_a_response_without_cookies_is_not_handed_to_the_cookie_jar(monkeypatch: pytest.MonkeyPatch) -> None:
    handed: list[httpx.Response] = []
    monkeypatch.setattr(httpx.Cookies, "extract_cookies", lambda self, response: handed.append(response))
    client = connect(
        TOKEN,
        "https://api.example.com",
        httpx_args={
            "transport": httpx.MockTransport(
                lambda request: httpx.Response(
                    200, json={}, headers={"set-COOKIE2": "a=1"} if "2" in str(request.url) else {}
                )
            )
        },
    )
    _http.send(client, {"method": "get", "url": "/v1/1"}, idempotent=True)
    _http.send(client, {"method": "get", "url": "/v1/2"}, idempotent=True)
    assert [str(response.url) for response in handed] == ["https://api.example.com/v1/2"]


def test_on_the_aiohttp_transport_httpx_alone_keeps_and_sends_cookies() -> None:
    # aiohttp's session would keep a jar of its own and add its cookies to every request, even
    # those httpx's jar no longer holds.
    import anyio

    from tests.hostile.rawserver import Connection, RawServer

    def handler(connection: Connection) -> None:
        while True:
            request = connection.request()
            cookie = "Set-Cookie: session=abc; Path=/\r\n" if request.path == "/login" else ""
            connection.send(f"HTTP/1.1 200 OK\r\n{cookie}Content-Length: 2\r\n\r\n{{}}".encode())

    async def main(base_url: str) -> None:
        client = connect(TOKEN, base_url, fast_async=True)
        http = client.get_async_httpx_client()
        await _http.async_send(client, {"method": "get", "url": "/login"}, idempotent=True)
        await _http.async_send(client, {"method": "get", "url": "/a"}, idempotent=True)
        http.cookies.clear()
        await _http.async_send(client, {"method": "get", "url": "/b"}, idempotent=True)
        await client.aclose()

    with RawServer(handler) as server:
        anyio.run(main, server.base_url.replace("127.0.0.1", "localhost"))  # aiohttp keeps no cookie of an IP
    sent = {request.path: request.headers.get("cookie") for request in server.requests}
    assert sent == {"/login": None, "/a": "session=abc", "/b": None}
