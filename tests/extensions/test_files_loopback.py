"""download() against the mock server over loopback: the image-to-video model's output, sync and async."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from extensions import calls
from extensions.errors import NotFoundError
from extensions.files import async_download, download
from generated_client import AuthenticatedClient
from generated_client.models import ImageToVideoInput
from mock_server.models import IMAGE_TO_VIDEO
from mock_server.testing import MockServer

from .calls_support import MODES, TOKEN, fresh, loopback_client, start_server


@pytest.fixture(scope="module")
def module_server() -> Iterator[MockServer]:
    yield from start_server()


@pytest.fixture
def server(module_server: MockServer) -> MockServer:
    return fresh(module_server)


def video_url(server: MockServer, tmp_path: Path) -> str:
    (tmp_path / "statue.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    model_input = ImageToVideoInput(image=tmp_path / "statue.jpg", prompt="statues talking", max_frames=4)  # type: ignore[arg-type]
    prediction = calls.run(loopback_client(server, fast_async=False), IMAGE_TO_VIDEO, model_input)
    assert isinstance(prediction.output, str)
    return prediction.output


def fetch(mode: str, url: str, path: Path, **kwargs: object) -> Path:
    if mode == "sync":
        return download(url, path, **kwargs)  # type: ignore[arg-type]

    async def download_and_close() -> Path:
        try:
            return await async_download(url, path, **kwargs)  # type: ignore[arg-type]
        finally:
            client = kwargs.get("client")
            if isinstance(client, AuthenticatedClient):
                await client.get_async_httpx_client().aclose()

    return anyio.run(download_and_close)


@pytest.mark.parametrize("mode", MODES)
def test_download_the_video_output(server: MockServer, mode: str, tmp_path: Path) -> None:
    url = video_url(server, tmp_path)
    assert url.startswith(f"{server.base_url}/files/") and url.endswith(".mp4")
    served = httpx.get(url).content
    progress: list[tuple[int, int | None]] = []
    client = loopback_client(server, fast_async=mode == "async")
    target = fetch(
        mode, url, tmp_path / "out" / "video.mp4", client=client, chunk_size=64, progress=lambda *a: progress.append(a)
    )
    content = target.read_bytes()
    assert content == served
    assert content[4:8] == b"ftyp"  # an MP4 (ISO base media) file
    assert progress[-1] == (len(content), len(content))
    assert [done for done, _ in progress] == sorted({done for done, _ in progress})
    assert sorted(p.name for p in target.parent.iterdir()) == ["video.mp4"]
    # Same origin as the client: the token went along.
    (file_request,) = [
        r
        for r in server.requests
        if r.path.startswith("/files/") and r.headers.get("user-agent", "").startswith("inference-api/")
    ]
    assert file_request.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("mode", MODES)
def test_download_from_another_origin_or_without_a_client_sends_no_token(
    server: MockServer, mode: str, tmp_path: Path
) -> None:
    url = video_url(server, tmp_path)
    other_origin = url.replace("http://127.0.0.1:", "http://localhost:")
    server.clear_requests()
    client = loopback_client(server, fast_async=mode == "async")
    first = fetch(mode, other_origin, tmp_path / "a.mp4", client=client)
    second = fetch(mode, url, tmp_path / "b.mp4")
    assert first.read_bytes() == second.read_bytes() == httpx.get(url).content
    downloads = [r for r in server.requests if r.path.startswith("/files/")]
    assert len(downloads) == 3
    assert all("authorization" not in r.headers for r in downloads)


@pytest.mark.parametrize("mode", MODES)
def test_a_missing_file_is_not_found_and_leaves_nothing(server: MockServer, mode: str, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        fetch(mode, f"{server.base_url}/files/nosuchfile.mp4", tmp_path / "v.mp4", client=loopback_client(server))
    assert list(tmp_path.iterdir()) == []
