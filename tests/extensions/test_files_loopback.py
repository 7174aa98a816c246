"""download() against the mock server over loopback: the image-to-video model's output, sync and async."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from inference_api import calls
from inference_api.errors import NotFoundError
from inference_api.files import async_download, download
from inference_api_client import AuthenticatedClient
from inference_api_client.models import ImageToVideoInput
from inference_api_mock.models import IMAGE_TO_VIDEO
from inference_api_mock.testing import MockServer

from .calls_support import MODES, TOKEN, loopback_client


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


@pytest.mark.parametrize("fast_async", [True, False])
def test_an_async_download_writes_through_a_thread_once_the_disk_is_slow(
    server: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_async: bool
) -> None:
    # Quick writes go to the file from the event loop; after three slow ones (here: every write is
    # "slow"), the rest go through a worker thread. Either way the file is whole.
    from inference_api import files

    url = video_url(server, tmp_path)
    served = httpx.get(url).content
    monkeypatch.setattr(files, "_SLOW_WRITE", -1.0)
    in_threads: list[int] = []
    run_sync = anyio.to_thread.run_sync

    async def counting_run_sync(function: object, *args: object) -> object:
        in_threads.append(len(args[0]))  # type: ignore[arg-type]
        return await run_sync(function, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting_run_sync)
    client = loopback_client(server, fast_async=fast_async)
    target = fetch("async", url, tmp_path / "video.mp4", client=client, chunk_size=64)
    assert target.read_bytes() == served
    chunks = -(-len(served) // 64)
    assert len(in_threads) == chunks - 3 and sum(in_threads) == len(served) - 3 * 64
