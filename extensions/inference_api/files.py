"""Files in and out: local files in an input become `data:` URIs; `download` saves output files.

create(client, IMAGE_TO_VIDEO, {"image": Path("statue.jpg"), "prompt": "..."})
download(prediction.output, "video.mp4", client=client, progress=print)
"""

from __future__ import annotations

import base64
import math
import mimetypes
import os
import stat
import time
import unicodedata
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path, PurePath
from secrets import token_hex
from typing import Any, Protocol

import anyio
import httpx

from inference_api_client import AuthenticatedClient

from ._http import _describe as describe_request
from ._http import (
    aiter_body,
    async_open_stream,
    attempts_of,
    checked_url,
    iter_body,
    limits_of,
    open_stream,
    run_deadline,
    secrets_of,
)
from ._limits import DEFAULT_LIMITS, ResponseLimits
from ._security import redact
from .errors import APIResponseError, APITimeoutError

__all__ = ["ProgressCallback", "async_download", "download", "download_path", "encode_input", "to_data_uri"]

ProgressCallback = Callable[[int, int | None], object]
# None: chunks as the transport reads them (at most 64 KiB from httpx's pool or aiohttp). A size
# makes httpx cut and join them to it, a copy of every byte (a 256 MiB async download took 1.2x
# longer with 64 KiB than without).
DEFAULT_CHUNK_SIZE: int | None = None
# async_download writes in the event loop while writes are quick (into the page cache, ~25 us for
# 64 KiB), and in a worker thread once _SLOW_WRITES writes took longer than _SLOW_WRITE (a slow
# disk or network file system; one slow write may be the machine's noise). A thread per write made
# downloads 2.7x slower than raw aiohttp (benchmarks/bench_download.py), most of it the GIL
# passing back and forth.
_SLOW_WRITE = 0.005
_SLOW_WRITES = 3
_ANONYMOUS_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


class _HasToDict(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class _BinaryReadable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _mime_type(name: str | None) -> str:
    guessed = mimetypes.guess_type(name)[0] if name else None
    return guessed or "application/octet-stream"


# Files are read in pieces of this size: each piece checks the deadline and the size limit.
_READ_PIECE = 1024 * 1024


class _Bounds:
    """What reading local files for one request may take: bytes per file and time in all."""

    __slots__ = ("deadline", "max_depth", "max_file_bytes", "seconds")

    def __init__(self, limits: ResponseLimits, deadline: float) -> None:
        self.max_file_bytes = limits.max_file_bytes
        self.max_depth = limits.max_json_depth
        self.deadline = deadline
        self.seconds = getattr(deadline, "seconds", deadline - time.monotonic())

    def check_time(self, what: str) -> None:
        if time.monotonic() >= self.deadline:
            seconds = f"{self.seconds:.4g} s"
            raise APITimeoutError(f"reading {what} did not finish within {seconds}, the call's total timeout")

    def too_large(self, what: str) -> ValueError:
        return ValueError(
            f"{what} is larger than {self.max_file_bytes} bytes, the limit on a file sent in an input "
            "(ResponseLimits.max_file_bytes): pass a URL to it instead, or raise the limit"
        )


def _read_bounded(file: _BinaryReadable, what: str, bounds: _Bounds) -> bytes:
    """Up to `bounds.max_file_bytes` of `file`, read by the deadline; ValueError past the limit."""
    pieces: list[bytes] = []
    size = 0
    while True:
        bounds.check_time(what)
        piece = file.read(min(_READ_PIECE, bounds.max_file_bytes + 1 - size))
        if not isinstance(piece, bytes):
            raise TypeError("open the file in binary mode ('rb') to send it")
        if not piece:
            return b"".join(pieces)
        pieces.append(piece)
        size += len(piece)
        if size > bounds.max_file_bytes:
            raise bounds.too_large(what)


def _read_path(path: Path, bounds: _Bounds) -> bytes:
    """A regular file's bytes, its size checked before reading (and again while reading: it may grow)."""
    what = f"the file {str(path)!r}"
    # Without blocking: opening a FIFO waits for a writer. Checked once open: what is checked is
    # what is read.
    descriptor = os.open(path, os.O_RDONLY | _O_BINARY | getattr(os, "O_NONBLOCK", 0))
    with open(descriptor, "rb") as file:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            # /dev/zero never ends, a FIFO may never answer: neither is a file to send.
            raise ValueError(f"{what} is not a regular file: only regular files are sent as inputs")
        if info.st_size > bounds.max_file_bytes:
            raise bounds.too_large(what)
        return _read_bounded(file, what, bounds)


def _data_uri(file: PurePath | str | _BinaryReadable, mime_type: str | None, bounds: _Bounds) -> str:
    if isinstance(file, PurePath | str):
        path = Path(file)
        content = _read_path(path, bounds)
        name: str | None = path.name
    else:
        raw_name = getattr(file, "name", None)
        name = os.fspath(raw_name) if isinstance(raw_name, str | os.PathLike) else None
        content = _read_bounded(file, f"the file {name!r}" if name else "an open file", bounds)
    mime = mime_type or _mime_type(name)
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"


def to_data_uri(
    file: PurePath | str | _BinaryReadable, mime_type: str | None = None, *, limits: ResponseLimits = DEFAULT_LIMITS
) -> str:
    """A `data:` URI with the file's bytes, base64-encoded; the MIME type is guessed from its name.

    Only regular files, of at most `limits.max_file_bytes` (32 MiB by default), are read: a
    larger one, a device or a FIFO is a ValueError, before reading.

    Example:
        >>> to_data_uri(io.BytesIO(b"hi"), "text/plain")
        'data:text/plain;base64,aGk='
    """
    return _data_uri(file, mime_type, _Bounds(limits, math.inf))


def _is_binary_file(value: object) -> bool:
    # Open binary files (and BytesIO); text files and strings are left alone.
    return callable(getattr(value, "read", None)) and "b" in getattr(value, "mode", "b") and not isinstance(value, str)


def _encode_value(value: Any, bounds: _Bounds, depth: int) -> Any:
    if depth > bounds.max_depth:
        # Refused here, not by a RecursionError in json.dumps (or here, at ~1,000 levels).
        raise ValueError(
            f"the input nests deeper than {bounds.max_depth} levels (ResponseLimits.max_json_depth), or holds itself"
        )
    if isinstance(value, PurePath) or _is_binary_file(value):
        return _data_uri(value, None, bounds)
    if isinstance(value, Mapping):
        return {key: _encode_value(item, bounds, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode_value(item, bounds, depth + 1) for item in value]
    if callable(getattr(value, "to_dict", None)):
        return _encode_value(value.to_dict(), bounds, depth)
    return value


def encode_input(
    model_input: Mapping[str, Any] | _HasToDict, *, limits: ResponseLimits = DEFAULT_LIMITS, deadline: float = math.inf
) -> dict[str, Any]:
    """A model input as JSON-ready data: typed input models through `to_dict()`, and every
    `pathlib.Path` or open binary file, however deeply nested, as a `data:` URI.

    Files are bounded by `limits.max_file_bytes` each (regular files only, their size checked
    before reading), their reading by `deadline` (on `time.monotonic()`: past it,
    `APITimeoutError`), and the input's nesting by `limits.max_json_depth` (ValueError).

    Example:
        >>> encode_input({"prompt": "hi", "image": Path("cat.png")})["image"][:22]
        'data:image/png;base64,'
    """
    bounds = _Bounds(limits, deadline)
    if isinstance(model_input, Mapping):
        encoded = _encode_value(model_input, bounds, 1)
    elif callable(getattr(model_input, "to_dict", None)):
        encoded = _encode_value(model_input.to_dict(), bounds, 1)
    else:
        raise TypeError(f"a model input is a dict or a typed input model, not {type(model_input).__name__}")
    assert isinstance(encoded, dict)
    return encoded


# A new file gets 0o666 less the umask, as `open(path, "wb")` gives it (NamedTemporaryFile would
# make it 0o600); a file it replaces keeps its mode, as it would when opened for writing.
_NEW_FILE_MODE = 0o666


@contextmanager
def _atomic_destination(path: Path) -> Iterator[Any]:
    """A temporary file beside `path`, renamed over it on success and removed on any error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    temporary = path.with_name(f".{path.name}.{token_hex(6)}.part")
    handle = open(  # noqa: SIM115 (closed below, on every path)
        os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, _NEW_FILE_MODE), "wb"
    )
    try:
        with handle:
            if mode is not None:
                os.chmod(handle.fileno(), mode)
            yield handle
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _anonymous_client() -> AuthenticatedClient:
    # No client, no credentials: an empty base URL has no origin, so nothing is ever authorised.
    return AuthenticatedClient(base_url="", token="", timeout=_ANONYMOUS_TIMEOUT, follow_redirects=True)


@contextmanager
def _download_client(client: AuthenticatedClient | None) -> Iterator[AuthenticatedClient]:
    if client is not None:
        yield client
        return
    anonymous = _anonymous_client()
    with anonymous.get_httpx_client():
        yield anonymous


@asynccontextmanager
async def _async_download_client(client: AuthenticatedClient | None) -> AsyncIterator[AuthenticatedClient]:
    if client is not None:
        yield client
        return
    anonymous = _anonymous_client()
    async with anonymous.get_async_httpx_client():
        yield anonymous


def _file_name(url: httpx.URL, secrets: tuple[str, ...]) -> str:
    """The URL's last path segment, percent-decoded, if it is a plain file name; ValueError otherwise.

    The name comes from a server: it must not be a dotfile (`.bashrc`), leave the directory
    (`..`, an encoded `/` or `\\`) or hold a NUL, control or format character (a bidi override
    can disguise a name's extension).
    """
    segment = url.raw_path.partition(b"?")[0].rpartition(b"/")[2]
    try:
        name = urllib.parse.unquote_to_bytes(segment).decode("utf-8")
    except UnicodeDecodeError:
        name = None
    if (
        not name
        or name.startswith(".")  # also "." and ".."
        or "/" in name
        or "\\" in name
        or any(unicodedata.category(char) in ("Cc", "Cf") for char in name)
    ):
        shown = segment.decode("ascii", errors="replace")  # the raw segment: never the query
        raise ValueError(
            redact(
                f"the URL's last path segment {shown!r} is not a plain file name: pass a file path, not a directory",
                secrets,
            )
        )
    return name


def download_path(url: str, path: str | os.PathLike[str], client: AuthenticatedClient | None) -> Path:
    """`path`, or inside it the URL's file name when `path` is a directory: one that exists, or a
    path ending in `/` (made when missing, as `mkdir -p` would).

    Also refuses a malformed `url` (ValueError), before any request.
    """
    secrets = (client.token,) if client is not None else ()
    parsed = checked_url(url, secrets=secrets)
    destination = Path(path)
    names_a_directory = os.fspath(path).endswith(("/", os.sep))
    if names_a_directory:
        destination.mkdir(parents=True, exist_ok=True)
    if names_a_directory or destination.is_dir():
        destination /= _file_name(parsed, secrets)
    return destination


def _deadline(client: AuthenticatedClient, timeout: float | None) -> tuple[float, float]:
    """The download's total timeout in seconds (`math.inf`: none) and its deadline on `time.monotonic()`."""
    started = time.monotonic()
    deadline = run_deadline(client, timeout)
    return deadline - started, deadline


# The decoded-to-encoded ratio is checked from this many decoded bytes on: the first bytes of a
# small compressed file (a run of zeros, a header) may grow far more than the whole.
_RATIO_FROM = 1024 * 1024


class _Growth:
    """Checks a download's decoded size against `ResponseLimits.max_download_bytes`, and, when the
    server compressed it, against `max_decoded_ratio` times the bytes received (a gzip bomb)."""

    __slots__ = ("_compressed", "_limits", "_response", "_secrets")

    def __init__(self, client: AuthenticatedClient, response: httpx.Response) -> None:
        self._limits = limits_of(client)
        self._response = response
        self._secrets = secrets_of(client)
        self._compressed = response.headers.get("content-encoding", "identity").strip().lower() != "identity"

    def check(self, decoded: int) -> None:
        limits = self._limits
        if decoded > limits.max_download_bytes:
            raise self._error(
                f"the file is larger than {limits.max_download_bytes} bytes (ResponseLimits.max_download_bytes)"
            )
        if self._compressed and decoded > _RATIO_FROM:
            encoded = max(1, self._response.num_bytes_downloaded)
            if decoded > limits.max_decoded_ratio * encoded:
                raise self._error(
                    f"{encoded} compressed bytes decoded to more than {decoded}, over "
                    f"{limits.max_decoded_ratio:g} times their size (ResponseLimits.max_decoded_ratio)"
                )

    def _error(self, problem: str) -> APIResponseError:
        response = self._response
        return APIResponseError(
            redact(f"{response.status_code} from {describe_request(response.request)}: {problem}", self._secrets),
            status_code=response.status_code,
            attempts=attempts_of(response),
        )


def _total(response: httpx.Response) -> int | None:
    length = response.headers.get("content-length")
    return int(length) if length and length.isdigit() else None


def download(
    url: str,
    path: str | os.PathLike[str],
    *,
    client: AuthenticatedClient | None = None,
    progress: ProgressCallback | None = None,
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    timeout: float | None = None,
) -> Path:
    """Save the file at `url` (such as a video output) to `path`, streaming it to disk; return the path.

    When `path` is a directory, the file goes inside it under the URL's file name (its last path
    segment, percent-decoded); a ValueError asks for a file path when that is not a plain name
    (empty, a dotfile, or with a separator or control character).

    The token is sent only when `url` is on the origin of `client`'s base URL. The file appears
    whole or not at all: it is written to a temporary file beside `path`, then renamed.
    `progress(bytes_done, bytes_total)` is called after each chunk (`bytes_total` is None when
    the server does not say); chunks are as they arrive (at most 64 KiB), or `chunk_size` bytes.
    `timeout` bounds the whole download, whatever the server does (default: the client's
    `run_timeout`, 600 s; `math.inf` for none): past it, `APITimeoutError`.
    Errors are `inference_api.errors` errors; a malformed `url` is a ValueError, raised before any
    request.

    Example:
        >>> prediction = run(client, IMAGE_TO_VIDEO, {"image": "https://...", "prompt": "..."})
        >>> download(prediction.output, "video.mp4", client=client)
        PosixPath('video.mp4')
    """
    destination = download_path(url, path, client)
    with _download_client(client) as http_client:
        seconds, deadline = _deadline(http_client, timeout)
        with open_stream(http_client, {"method": "GET", "url": url}, idempotent=True, deadline=deadline) as response:
            total = _total(response)
            done = 0
            chunks = iter_body(http_client, response, deadline=deadline, seconds=seconds, chunk_size=chunk_size)
            with _atomic_destination(destination) as out:
                growth = _Growth(http_client, response)
                for chunk in chunks:
                    done += len(chunk)
                    growth.check(done)  # before writing: a refused download leaves nothing behind
                    out.write(chunk)
                    if progress is not None:
                        progress(done, total)
    return destination


async def async_download(
    url: str,
    path: str | os.PathLike[str],
    *,
    client: AuthenticatedClient | None = None,
    progress: ProgressCallback | None = None,
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    # As every call has, with a typed error; a cancel scope of the caller's own works as well.
    timeout: float | None = None,  # noqa: ASYNC109
) -> Path:
    """`download` for async code.

    Chunks are written as they come, in the event loop: writing to the page cache is quick. Once
    three writes took more than 5 ms each (a slow disk), the rest go through a worker thread.

    Example:
        >>> await async_download(prediction.output, "video.mp4", client=client)
        PosixPath('video.mp4')
    """
    destination = download_path(url, path, client)
    async with _async_download_client(client) as http_client:
        seconds, deadline = _deadline(http_client, timeout)
        request = {"method": "GET", "url": url}
        async with async_open_stream(http_client, request, idempotent=True, deadline=deadline) as response:
            total = _total(response)
            done = 0
            chunks = aiter_body(http_client, response, deadline=deadline, seconds=seconds, chunk_size=chunk_size)
            with _atomic_destination(destination) as out:
                slow_writes = 0
                growth = _Growth(http_client, response)
                async for chunk in chunks:
                    done += len(chunk)
                    growth.check(done)  # before writing: a refused download leaves nothing behind
                    if slow_writes >= _SLOW_WRITES:
                        await anyio.to_thread.run_sync(out.write, chunk)
                    else:
                        started = time.monotonic()
                        out.write(chunk)
                        if time.monotonic() - started > _SLOW_WRITE:
                            slow_writes += 1
                    if progress is not None:
                        progress(done, total)
    return destination
