"""Issue 19, cases 6 and 7: what a server hands out to download or to follow is bounded and checked.

Case 6: a gzip bomb (10 MB that decode to 10 GiB) was written to disk in full by `download`. Now a
download stops with `APIResponseError` once it decodes to more than `max_decoded_ratio` times what
arrived, or more than `max_download_bytes` in all, and leaves no file behind.

Case 7: a prediction's `urls.stream` of `file:///etc/passwd`, `data:...` or `javascript:...` was
requested as a path on the API's origin, with the token. Now it is refused (`APIResponseError`),
and nothing is requested. `download` refuses such URLs the same way (ValueError: they are the
caller's).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from inference_api import files, streaming
from inference_api._limits import ResponseLimits
from inference_api.errors import APIResponseError
from inference_api_client.models.prediction import Prediction
from tests.hostile import harness
from tests.hostile.answers import serve
from tests.hostile.rawserver import Connection, RawServer

MiB = 1024 * 1024
# 64 MiB of zeros: ~64 KiB compressed, a thousand times smaller, as the bomb of the issue.
BOMB = gzip.compress(b"\x00" * 64 * MiB, compresslevel=9)


def download(mode: str, url: str, destination: Path, **options: object) -> Path:
    client = harness.client_for(mode, url.rsplit("/files/", 1)[0], 30.0, **options)
    if mode == "sync":
        with client:
            return files.download(url, destination, client=client)

    async def in_async() -> Path:
        async with client:
            return await files.async_download(url, destination, client=client)

    return anyio.run(in_async)


@pytest.mark.parametrize("mode", harness.MODES)
def test_a_gzip_bomb_is_refused_and_leaves_no_file(mode: str, tmp_path: Path) -> None:
    refused = pytest.raises(APIResponseError, match=r"over 100 times their size \(ResponseLimits.max_decoded_ratio\)")
    with serve(BOMB, "Content-Encoding: gzip") as server, refused:
        download(mode, f"{server.base_url}/files/out.mp4", tmp_path / "out.mp4")
    assert list(tmp_path.iterdir()) == [], "nothing is left behind, not even a part file"


@pytest.mark.parametrize("mode", harness.MODES)
def test_a_download_over_its_limit_is_refused_and_leaves_no_file(mode: str, tmp_path: Path) -> None:
    body = b"\x01" * (3 * MiB)
    with serve(body) as server:
        url = f"{server.base_url}/files/out.mp4"
        with pytest.raises(APIResponseError, match=r"larger than 2097152 bytes \(ResponseLimits.max_download_bytes\)"):
            download(mode, url, tmp_path / "out.mp4", limits=ResponseLimits(max_download_bytes=2 * MiB))
        assert list(tmp_path.iterdir()) == []
        # Within the limits, compressed or not, the file is written whole.
        assert download(mode, url, tmp_path / "out.mp4").read_bytes() == body
    with serve(gzip.compress(body), "Content-Encoding: gzip") as server:
        url = f"{server.base_url}/files/zipped.mp4"
        limits = ResponseLimits(max_decoded_ratio=10_000)
        assert download(mode, url, tmp_path / "zipped.mp4", limits=limits).read_bytes() == body


STREAM_URLS = {
    "file": "file:///etc/passwd",
    "data": "data:text/event-stream,event: done",
    "javascript": "javascript:alert(document.cookie)",
    "ftp": "ftp://127.0.0.1/stream",
}


@pytest.fixture
def api() -> Iterator[RawServer]:
    def handle(connection: Connection) -> None:
        connection.request()
        connection.send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    with RawServer(handle) as server:
        yield server


def follow(mode: str, base_url: str, prediction: Prediction) -> str:
    client = harness.client_for(mode, base_url, 10.0)
    if mode == "sync":
        with client:
            return "".join(streaming.stream_prediction(client, prediction))

    async def in_async() -> str:
        async with client, streaming.async_stream_prediction(client, prediction) as text:
            return "".join([piece async for piece in text])

    return anyio.run(in_async)


@pytest.mark.parametrize("mode", harness.MODES)
@pytest.mark.parametrize("scheme", STREAM_URLS)
def test_a_stream_url_that_is_not_http_is_refused_before_any_request(mode: str, scheme: str, api: RawServer) -> None:
    urls = {"get": f"{api.base_url}/v1/predictions/x", "cancel": "x", "stream": STREAM_URLS[scheme]}
    prediction = Prediction.from_dict(harness.prediction_json(api.base_url, urls=urls))
    with pytest.raises(
        APIResponseError, match=rf"stream URL .* is not an http:// or https:// URL \(scheme '{scheme}'\)"
    ):
        follow(mode, api.base_url, prediction)
    assert api.requests == [], "nothing requested, on the API's origin or anywhere"


@pytest.mark.parametrize("scheme", STREAM_URLS)
def test_download_refuses_a_url_that_is_not_http(scheme: str, tmp_path: Path, api: RawServer) -> None:
    client = harness.client_for("sync", api.base_url, 10.0)
    with client, pytest.raises(ValueError, match="not an http:// or https:// URL"):
        files.download(STREAM_URLS[scheme], tmp_path / "out", client=client)
    assert api.requests == []
