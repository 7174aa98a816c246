"""Local files in inputs become data URIs; download() streams a file to disk, whole or not at all."""

from __future__ import annotations

import base64
import io
import itertools
import json
import logging
import os
import stat
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from inference_api import files
from inference_api.errors import APIConnectionError, APIResponseError, NotFoundError
from inference_api.files import encode_input, to_data_uri
from inference_api_client.models import ImageToVideoInput, LlamaChatInput, MistralInstructInput

from .calls_support import BASE_URL, MODES, TOKEN, VERSION, invoke, mock_client, prediction_json

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def decode(uri: str) -> tuple[str, bytes]:
    header, _, payload = uri.partition(",")
    assert header.startswith("data:") and header.endswith(";base64")
    return header[len("data:") : -len(";base64")], base64.b64decode(payload)


def test_data_uri_of_a_path_guesses_the_mime_type(tmp_path: Path) -> None:
    (tmp_path / "cat.png").write_bytes(PNG)
    (tmp_path / "notes.unknownext").write_bytes(b"x")
    assert decode(to_data_uri(tmp_path / "cat.png")) == ("image/png", PNG)
    assert decode(to_data_uri(str(tmp_path / "cat.png"))) == ("image/png", PNG)
    assert decode(to_data_uri(tmp_path / "notes.unknownext"))[0] == "application/octet-stream"
    assert decode(to_data_uri(tmp_path / "cat.png", "image/x-custom"))[0] == "image/x-custom"


def test_data_uri_of_open_binary_files(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    with (tmp_path / "clip.mp4").open("rb") as handle:
        assert decode(to_data_uri(handle)) == ("video/mp4", b"\x00\x00\x00\x18ftypmp42")
    assert decode(to_data_uri(io.BytesIO(b"raw"))) == ("application/octet-stream", b"raw")


def test_text_mode_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hi")
    with (tmp_path / "a.txt").open() as handle, pytest.raises(TypeError, match="binary mode"):
        to_data_uri(handle)  # type: ignore[arg-type]


def test_encode_input_converts_files_anywhere(tmp_path: Path) -> None:
    (tmp_path / "cat.png").write_bytes(PNG)
    with (tmp_path / "cat.png").open("rb") as handle:
        encoded = encode_input(
            {
                "image": tmp_path / "cat.png",
                "frames": [handle, {"mask": io.BytesIO(b"m")}],
                "prompt": "a cat",
                "steps": 3,
                "url": "https://example.com/cat.png",
            }
        )
    assert decode(encoded["image"]) == ("image/png", PNG)
    assert decode(encoded["frames"][0]) == ("image/png", PNG)
    assert decode(encoded["frames"][1]["mask"]) == ("application/octet-stream", b"m")
    assert encoded["prompt"] == "a cat" and encoded["steps"] == 3 and encoded["url"] == "https://example.com/cat.png"
    json.dumps(encoded)


def test_encode_input_takes_the_generated_input_models(tmp_path: Path) -> None:
    (tmp_path / "statue.jpg").write_bytes(b"\xff\xd8\xff")
    video = ImageToVideoInput(image=tmp_path / "statue.jpg", prompt="statues talking", max_frames=8)  # type: ignore[arg-type]
    assert encode_input(video) == {
        "image": "data:image/jpeg;base64,/9j/",
        "prompt": "statues talking",
        "max_frames": 8,
        "guidance_scale": 9.0,
        "num_inference_steps": 50,
    }
    assert encode_input(MistralInstructInput(prompt="hams"))["prompt"] == "hams"
    assert encode_input(LlamaChatInput(prompt="hi"))["prompt"] == "hi"


def test_encode_input_refuses_other_things() -> None:
    with pytest.raises(TypeError, match="a dict or a typed input model, not list"):
        encode_input([1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
def test_create_sends_typed_inputs_and_files(mode: str, tmp_path: Path) -> None:
    (tmp_path / "statue.jpg").write_bytes(b"\xff\xd8\xff")
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(201, json={"data": prediction_json()})

    client = mock_client(handler)
    model_input = ImageToVideoInput(image="https://example.com/x.jpg", prompt="p")
    invoke(
        mode,
        "create",
        client,
        f"ali-vilab/i2vgen-xl:{VERSION}",
        model_input,
        stream=True,
        webhook="https://hook.test/x",
    )
    invoke(mode, "create", client, VERSION, {"image": tmp_path / "statue.jpg"}, webhook_events_filter=["completed"])
    assert bodies[0] == {
        "version": VERSION,
        "input": model_input.to_dict(),
        "stream": True,
        "webhook": "https://hook.test/x",
    }
    assert bodies[1] == {
        "version": VERSION,
        "input": {"image": "data:image/jpeg;base64,/9j/"},
        "stream": False,
        "webhook_events_filter": ["completed"],
    }


def test_unknown_webhook_events_are_refused() -> None:
    with pytest.raises(ValueError, match="'finished' is not a valid WebhookEvent"):
        invoke(
            "sync",
            "create",
            mock_client(lambda r: httpx.Response(500)),
            VERSION,
            {},
            webhook_events_filter=["finished"],
        )


# download(), in-process: single-function faults (the loopback test is in test_files_loopback).

CONTENT = bytes(range(256)) * 1000  # 256 kB


class BrokenStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that breaks after its first chunk, as a dropped connection does."""

    def __iter__(self) -> Iterator[bytes]:
        yield CONTENT[:1000]
        raise httpx.ReadError("connection reset")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield CONTENT[:1000]
        raise httpx.ReadError("connection reset")


def file_server(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/files/out.mp4":
        return httpx.Response(200, content=CONTENT, headers={"Content-Type": "video/mp4"})
    if request.url.path == "/files/broken.mp4":
        return httpx.Response(200, stream=BrokenStream())
    if request.url.path == "/files/corrupt.mp4":  # gzip data that breaks after its first block
        compressor = zlib.compressobj(wbits=31)
        body = compressor.compress(CONTENT[:1000]) + compressor.flush(zlib.Z_SYNC_FLUSH) + b"\xff" * 16
        return httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"})
    return httpx.Response(404, json={"detail": "no such file"})


def do_download(mode: str, url: str, path: Path, **kwargs: object) -> Path:
    if mode == "sync":
        return files.download(url, path, **kwargs)  # type: ignore[arg-type]
    return anyio.run(lambda: files.async_download(url, path, **kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
def test_download_streams_to_disk_with_progress(mode: str, tmp_path: Path) -> None:
    progress: list[tuple[int, int | None]] = []
    client = mock_client(file_server)
    target = tmp_path / "sub" / "video.mp4"
    result = do_download(
        mode,
        f"{BASE_URL}/files/out.mp4",
        target,
        client=client,
        chunk_size=65536,
        progress=lambda *a: progress.append(a),
    )
    assert result == target
    assert target.read_bytes() == CONTENT
    assert progress[-1] == (len(CONTENT), len(CONTENT))
    assert len(progress) >= 4 and all(b > a for (a, _), (b, _) in itertools.pairwise(progress))
    assert sorted(p.name for p in target.parent.iterdir()) == ["video.mp4"]


@pytest.mark.parametrize("mode", MODES)
def test_download_into_a_directory_uses_the_urls_file_name(mode: str, tmp_path: Path) -> None:
    client = mock_client(file_server)
    assert do_download(mode, f"{BASE_URL}/files/out.mp4?sig=1", tmp_path, client=client) == tmp_path / "out.mp4"
    assert (tmp_path / "out.mp4").read_bytes() == CONTENT
    # The name is percent-decoded.
    any_file = mock_client(lambda request: httpx.Response(200, content=b"x"))
    saved = do_download(mode, f"{BASE_URL}/v/my%20vid%C3%A9o.mp4", tmp_path, client=any_file)
    assert saved == tmp_path / "my vidéo.mp4"


@pytest.mark.parametrize(
    "name",
    # A dotfile, NUL, newline, bidi override, encoded separators, "..", no name, not UTF-8.
    [
        ".bashrc",
        "%2Ebashrc",
        "a%00b.mp4",
        "a%0Ab.mp4",
        "a%E2%80%AEb.mp4",
        "a%2Fb.mp4",
        "a%5Cb.mp4",
        "%2e%2e",
        "",
        "a%FF.mp4",
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_a_url_without_a_plain_file_name_needs_a_file_path(mode: str, name: str, tmp_path: Path) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=b"x")

    with pytest.raises(ValueError, match="pass a file path") as caught:
        do_download(mode, f"{BASE_URL}/files/{name}?sig=S3CR3T", tmp_path, client=mock_client(handler))
    assert "S3CR3T" not in str(caught.value)
    assert requests == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", MODES)
def test_a_broken_download_leaves_no_file_and_keeps_an_old_one(mode: str, tmp_path: Path) -> None:
    client = mock_client(file_server)
    target = tmp_path / "video.mp4"
    with pytest.raises(APIConnectionError, match="connection reset"):
        do_download(mode, f"{BASE_URL}/files/broken.mp4", target, client=client)
    assert list(tmp_path.iterdir()) == []
    target.write_bytes(b"previous")
    with pytest.raises(NotFoundError, match="no such file"):
        do_download(mode, f"{BASE_URL}/files/missing.mp4", target, client=client)
    assert target.read_bytes() == b"previous"
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("mode", MODES)
def test_a_body_that_cannot_be_decoded_is_a_response_error_and_leaves_no_file(mode: str, tmp_path: Path) -> None:
    client = mock_client(file_server)
    with pytest.raises(APIResponseError, match="could not decode the response") as caught:
        do_download(mode, f"{BASE_URL}/files/corrupt.mp4", tmp_path / "video.mp4", client=client)
    assert isinstance(caught.value.__cause__, httpx.DecodingError)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("into_directory", [False, True])
@pytest.mark.parametrize(
    "url",
    [f"{BASE_URL}/files/a\x00b.mp4", "http://[::1/a.mp4", f"https://cdn.test:{TOKEN}/a.mp4", "https://xn--/a.mp4"],
)
@pytest.mark.parametrize("mode", MODES)
def test_a_malformed_url_is_refused_before_any_request(
    mode: str, url: str, into_directory: bool, tmp_path: Path
) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=b"x")

    target = tmp_path if into_directory else tmp_path / "a.mp4"
    with pytest.raises(ValueError, match="not a valid URL") as caught:
        do_download(mode, url, target, client=mock_client(handler))
    assert TOKEN not in str(caught.value)
    assert requests == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", MODES)
def test_errors_and_logs_leave_out_a_signed_urls_query(
    mode: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = mock_client(file_server)
    with caplog.at_level(logging.DEBUG), pytest.raises(NotFoundError) as caught:
        do_download(mode, f"{BASE_URL}/files/missing.mp4?X-Signature=s3cr3t", tmp_path / "v.mp4", client=client)
    assert f"GET {BASE_URL}/files/missing.mp4:" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)
    assert "s3cr3t" not in "".join(r.getMessage() for r in caplog.records if r.name == "inference_api")


@pytest.mark.parametrize("mode", MODES)
def test_download_sends_the_token_only_to_the_clients_origin(mode: str, tmp_path: Path) -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, content=b"x")

    client = mock_client(handler)
    do_download(mode, f"{BASE_URL}/files/a.mp4", tmp_path / "a", client=client)
    do_download(mode, "https://cdn.test/files/a.mp4", tmp_path / "b", client=client)
    assert seen == [f"Bearer {TOKEN}", None]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
@pytest.mark.parametrize("mode", MODES)
def test_a_download_gets_the_mode_open_would_give(mode: str, umask: int, tmp_path: Path) -> None:
    client = mock_client(file_server)
    previous = os.umask(umask)
    try:
        with (tmp_path / "opened.mp4").open("wb"):
            pass
        saved = do_download(mode, f"{BASE_URL}/files/out.mp4", tmp_path / "video.mp4", client=client)
    finally:
        os.umask(previous)
    expected = stat.S_IMODE((tmp_path / "opened.mp4").stat().st_mode)
    assert expected == 0o666 & ~umask
    assert stat.S_IMODE(saved.stat().st_mode) == expected


@pytest.mark.parametrize("mode", MODES)
def test_a_download_over_a_file_keeps_its_mode(mode: str, tmp_path: Path) -> None:
    target = tmp_path / "video.mp4"
    target.write_bytes(b"previous")
    target.chmod(0o640)
    do_download(mode, f"{BASE_URL}/files/out.mp4", target, client=mock_client(file_server))
    assert target.read_bytes() == CONTENT
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
