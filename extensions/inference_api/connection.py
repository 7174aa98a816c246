"""`connect()`: a configured client, from arguments or the environment.

    client = connect()                      # INFERENCE_API_TOKEN, INFERENCE_API_BASE_URL
    client = connect("r8_...", "http://127.0.0.1:8000", timeout=10.0, retries=RetryPolicy(max_attempts=6))

The client is a `inference_api_client.AuthenticatedClient` (the subclass `InferenceClient` adds the
retry policy and the choice of async transport), so the generated endpoint functions accept it too.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import httpx
from attrs import define, evolve, field

from inference_api_client import AuthenticatedClient

from ._deadline import DEFAULT_CALL_TIMEOUT, DEFAULT_RUN_TIMEOUT
from ._http import logger
from ._limits import ResponseLimits
from ._logging import configure_from_environment
from ._retry import RetryPolicy
from ._security import MIN_TOKEN_LENGTH
from ._version import __version__

__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_RUN_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "TOKEN_ENV",
    "InferenceClient",
    "connect",
    "default_user_agent",
    "fast_async_available",
]

TOKEN_ENV = "INFERENCE_API_TOKEN"  # noqa: S105 (the variable's name, not a token)
BASE_URL_ENV = "INFERENCE_API_BASE_URL"
# The `servers` URL of openapi.yaml (tests check that the two agree).
DEFAULT_BASE_URL = "https://fqpedg8vi2.ap-northeast-1.awsapprunner.com"
# A refused or unreachable host should fail fast; an answer may take a while on a busy service.
# These bound each wait for the server; DEFAULT_CALL_TIMEOUT (120 s) bounds each call whole, and
# DEFAULT_RUN_TIMEOUT (600 s) each run and stream, whose read timeout it also is.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# Measured by benchmarks/bench_calls.py (BENCHMARKS.md): per async GET, the aiohttp transport
# costs a fraction of httpx's own pool, the more so at high concurrency, where httpx's pool slows
# down. So async calls use it whenever httpx-aiohttp (the `fast` extra) is installed.
FAST_ASYNC_BY_DEFAULT = True


def fast_async_available() -> bool:
    """Whether the `fast` extra (httpx-aiohttp) is installed."""
    try:
        import httpx_aiohttp  # noqa: F401
    except ImportError:
        return False
    return True


def default_user_agent() -> str:
    """`inference-api/<version> python/<version> httpx/<version>`."""
    python = ".".join(str(part) for part in sys.version_info[:3])
    return f"inference-api/{__version__} python/{python} httpx/{httpx.__version__}"


@define
class InferenceClient(AuthenticatedClient):
    """An `AuthenticatedClient` that also carries how calls retry and which async transport to use.

    `sleep` and `async_sleep` wait between attempts (replace them in tests to observe the delays).
    """

    retry: RetryPolicy = field(factory=RetryPolicy, kw_only=True)
    call_timeout: float | None = field(default=DEFAULT_CALL_TIMEOUT, kw_only=True)
    run_timeout: float | None = field(default=DEFAULT_RUN_TIMEOUT, kw_only=True)
    limits: ResponseLimits = field(factory=ResponseLimits, kw_only=True)
    fast_async: bool = field(default=False, kw_only=True)
    sleep: Callable[[float], object] = field(default=time.sleep, kw_only=True, repr=False)
    async_sleep: Callable[[float], Awaitable[object]] = field(default=anyio.sleep, kw_only=True, repr=False)
    _async_on_aiohttp: bool = field(default=False, init=False, repr=False)
    # Set by with_options(): each wait for the server, and headers added to each request.
    request_timeout: httpx.Timeout | None = field(default=None, kw_only=True)
    extra_headers: Mapping[str, str] = field(factory=dict, kw_only=True, repr=False)
    # The client whose connections a with_options() view uses.
    _parent: InferenceClient | None = field(default=None, kw_only=True, repr=False, alias="parent")

    def with_options(
        self,
        *,
        timeout: float | None = None,
        read_timeout: float | None = None,
        retries: RetryPolicy | int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> InferenceClient:
        """This client with other settings for the calls made through it; the same connections.

        - `timeout`: seconds one call may take in all, retries included (get, create, cancel,
          download, and run, stream and wait alike), instead of `call_timeout` / `run_timeout`;
        - `read_timeout`: seconds each wait for the server may take (connect, read, write);
        - `retries`: a `RetryPolicy`, or how many retries after the first attempt (0: none);
        - `headers`: added to every request (they cannot replace the token's header).

        Options are arguments of this method, never of the calls, so no request field the API
        gains can collide with them. Left out (None): as this client has it. The view is cheap
        and shares this client's connection pools: close this client, not the view.

        Example:
            >>> get(client.with_options(timeout=5, retries=0), prediction_id)
        """
        changes: dict[str, Any] = {"parent": self._parent or self}
        if timeout is not None:
            if not timeout > 0:
                raise ValueError(f"timeout must be a number of seconds > 0, not {timeout!r}")
            changes["call_timeout"] = changes["run_timeout"] = timeout
        if read_timeout is not None:
            if not read_timeout > 0:
                raise ValueError(f"read_timeout must be a number of seconds > 0, not {read_timeout!r}")
            changes["request_timeout"] = httpx.Timeout(read_timeout)
        if retries is not None:
            changes["retry"] = retry_policy_of(retries)
        if headers is not None:
            if any(name.lower() == self.auth_header_name.lower() for name in headers):
                raise ValueError(f"with_options(headers=...) cannot set {self.auth_header_name}: connect() sets it")
            changes["extra_headers"] = {**self.extra_headers, **headers}
        return evolve(self, **changes)

    def get_httpx_client(self) -> httpx.Client:
        """The `httpx.Client` (a with_options() view uses its parent's)."""
        if self._parent is not None:
            return self._parent.get_httpx_client()
        return super().get_httpx_client()

    def get_async_httpx_client(self) -> httpx.AsyncClient:
        """The `httpx.AsyncClient`: on the aiohttp transport when `fast_async` is set, it is installed
        and the caller runs on asyncio; else on httpx's own (under trio: aiohttp runs on asyncio only).
        A with_options() view uses its parent's.

        Proxies from the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`) are
        honoured on both, as httpx reads them.
        """
        if self._parent is not None:
            return self._parent.get_async_httpx_client()
        if self._async_client is None and self.fast_async and fast_async_available() and not _off_asyncio():
            transport = _aiohttp_transport(self._verify_ssl)
            if transport is not None:
                # The generated client puts the token into its headers the same way.
                self._headers[self.auth_header_name] = f"{self.prefix} {self.token}" if self.prefix else self.token
                extra = {key: value for key, value in self._httpx_args.items() if key != "transport"}
                if extra.get("trust_env", True) and "proxy" not in extra:
                    extra["mounts"] = {**_proxy_mounts(self._verify_ssl), **extra.get("mounts", {})}
                self._async_client = httpx.AsyncClient(
                    base_url=self._base_url,
                    cookies=self._cookies,
                    headers=self._headers,
                    timeout=self._timeout,
                    follow_redirects=self._follow_redirects,
                    transport=transport,
                    **extra,
                )
                self._async_on_aiohttp = True
        elif self._async_on_aiohttp and _off_asyncio():
            raise RuntimeError(
                "this client's async calls run on aiohttp, which needs asyncio, and were first made on "
                "asyncio or outside an event loop: use another client under trio (connect() picks httpx's "
                "transport there)"
            )
        return super().get_async_httpx_client()

    def close(self) -> None:
        """Close the sync connection pool (or use the client in a `with` block)."""
        if self._client is not None:
            self._client.close()

    async def aclose(self) -> None:
        """Close the async connection pool (or use the client in an `async with` block)."""
        if self._async_client is not None:
            await self._async_client.aclose()


def retry_policy_of(retries: RetryPolicy | int) -> RetryPolicy:
    """A `RetryPolicy` as given, or one that retries `retries` times after the first attempt."""
    if isinstance(retries, RetryPolicy):
        return retries
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a RetryPolicy or a whole number 0 or more, not {retries!r}")
    return RetryPolicy(max_attempts=retries + 1)


def _off_asyncio() -> bool:
    """Whether the caller runs in an event loop that is not asyncio's (trio); False outside any loop."""
    import sniffio  # the `fast` extra's, as aiohttp's transport: only asked when that is chosen

    try:
        return sniffio.current_async_library() != "asyncio"
    except sniffio.AsyncLibraryNotFoundError:
        return False


def _aiohttp_transport(verify: Any, proxy: httpx.Proxy | None = None) -> httpx.AsyncBaseTransport | None:
    try:
        from ._aiohttp import MappedAiohttpTransport
    except ImportError:
        return None
    return MappedAiohttpTransport(verify=verify, proxy=proxy)


def _proxy_mounts(verify: Any) -> dict[str, httpx.AsyncBaseTransport | None]:
    """The proxies of the environment as httpx mounts them for its own transport (httpx's own
    reading of HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY), each on an aiohttp transport;
    None, for a host NO_PROXY names, is the client's direct transport."""
    from httpx._utils import get_environment_proxies  # httpx's, so both transports read them alike

    return {
        pattern: None if url is None else _aiohttp_transport(verify, httpx.Proxy(url))
        for pattern, url in get_environment_proxies().items()
    }


def _proxies_configured() -> bool:
    import urllib.request  # as httpx reads them (httpx imports it when it makes a client)

    return any(key in ("http", "https", "all") for key in urllib.request.getproxies())


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_base_url(base_url: str) -> str:
    url = httpx.URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"the base URL must be an http:// or https:// URL, not {base_url!r}")
    if url.scheme == "http" and not _is_loopback(url.host):
        logger.warning("the base URL %s is plain http: the token travels unencrypted", base_url)
    return base_url.rstrip("/")


def connect(
    token: str | None = None,
    base_url: str | None = None,
    *,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    call_timeout: float | None = DEFAULT_CALL_TIMEOUT,
    run_timeout: float | None = DEFAULT_RUN_TIMEOUT,
    retries: RetryPolicy | int | None = None,
    limits: ResponseLimits | None = None,
    user_agent: str | None = None,
    fast_async: bool | None = None,
    follow_redirects: bool = True,
    headers: Mapping[str, str] | None = None,
    verify_ssl: Any = True,
    httpx_args: Mapping[str, Any] | None = None,
    sleep: Callable[[float], object] | None = None,
    async_sleep: Callable[[float], Awaitable[object]] | None = None,
) -> InferenceClient:
    """A client for the API, configured from the arguments or the environment.

    - `token`: else `INFERENCE_API_TOKEN`; `ValueError` when there is none, or it is shorter than
      8 characters (output is redacted of the token: a shorter one would alter ordinary text).
    - `base_url`: else `INFERENCE_API_BASE_URL`, else the hosted service of openapi.yaml.
    - `timeout`: seconds or an `httpx.Timeout` (default: 5 s to connect, 30 s for the rest): how
      long each wait for the server may take.
    - `call_timeout`: how long one get, create, cancel or download may take in all, retries
      included, whatever the server does (default 120 s; None: no total).
    - `run_timeout`: the same for `run()` and for streams (default 600 s; None: no total), and
      the read timeout of `run()`, which answers only when the model is done.
    - `retries`: a `RetryPolicy`, or how many retries after the first attempt (0 disables).
    - `limits`: a `ResponseLimits`: how large a body, an event or JSON nesting from the server
      may be (default 32 MiB, 16 Mi characters, 128 levels), a download (16 GiB decoded, 100
      times its compressed size), and a local file sent in an input (32 MiB).
    - `user_agent`: your product token, put before `inference-api/<v> python/<v> httpx/<v>`.
    - `fast_async`: the aiohttp transport for async calls (faster, above all at high
      concurrency). By default it is used when the `fast` extra is installed, no proxy is set
      in the environment and `httpx_args` brings no transport; without the extra, silently not.
      Under trio async calls use httpx's own transport whatever it says (aiohttp needs asyncio).
      Forced on, it honours the environment's proxies as httpx does (NO_PROXY included).
    - `follow_redirects`: on by default; httpx drops the `Authorization` header whenever a
      redirect leaves the base URL's origin.

    Example:
        >>> client = connect("my-token", "http://127.0.0.1:8000", retries=2)
        >>> client.retry.max_attempts
        3
    """
    configure_from_environment()
    token = (token if token is not None else os.environ.get(TOKEN_ENV, "")).strip()
    if not token:
        raise ValueError(f"no API token: pass connect(token=...) or set {TOKEN_ENV}")
    if not all("!" <= character <= "~" for character in token):
        # Refused here, without quoting it: httpx would refuse the header later and quote its value.
        raise ValueError("the API token may contain only visible ASCII characters (no spaces or control characters)")
    if len(token) < MIN_TOKEN_LENGTH:
        # Redaction replaces the token wherever it appears: a short one would mangle ordinary text.
        raise ValueError(
            f"the API token is too short: real tokens have at least {MIN_TOKEN_LENGTH} characters "
            "(a shorter one could not be redacted from output without altering it)"
        )
    base_url = _check_base_url(base_url or os.environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL)

    policy = RetryPolicy() if retries is None else retry_policy_of(retries)

    httpx_args = dict(httpx_args or {})
    if fast_async is None:
        # Not by default where it would change behaviour: a transport of the caller's own, or proxy
        # settings in the environment (httpx honours them, the aiohttp transport does not).
        use_fast = FAST_ASYNC_BY_DEFAULT and "transport" not in httpx_args and not _proxies_configured()
    else:
        use_fast = fast_async
    if use_fast and not fast_async_available():
        if fast_async:
            logger.warning("fast_async=True but httpx-aiohttp is not installed (the `fast` extra): using httpx's own")
        use_fast = False

    for name, seconds in (("call_timeout", call_timeout), ("run_timeout", run_timeout)):
        if seconds is not None and not seconds > 0:
            raise ValueError(f"{name} must be a number of seconds > 0 or None, not {seconds!r}")

    agent = default_user_agent()
    all_headers = {"User-Agent": f"{user_agent} {agent}" if user_agent else agent, **(headers or {})}
    return InferenceClient(
        base_url=base_url,
        token=token,
        headers=all_headers,
        timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
        follow_redirects=follow_redirects,
        verify_ssl=verify_ssl,
        httpx_args=httpx_args,
        retry=policy,
        call_timeout=call_timeout,
        run_timeout=run_timeout,
        limits=limits or ResponseLimits(),
        fast_async=use_fast,
        sleep=sleep or time.sleep,
        async_sleep=async_sleep or anyio.sleep,
    )
