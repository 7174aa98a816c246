"""The mock server's ASGI application: `create_app(tokens, ...)`.

Routes are the spec's operations, and every request is checked against the spec (`inference_api_mock.spec`)
before anything happens, in this order, so that bad input always gets a clear 4xx and never a 5xx:

    unknown path 404 · wrong method 405 (with Allow) · missing/wrong token 401 · bad path id or
    header 422 · body over the size limit 413 · body that is not application/json 415 · malformed
    JSON 422 · body not matching the schema 422 (for the guide's models, the schema includes the
    model's input schema) · unknown model or version 404

Answers have exactly the documented shapes: `{"data": <prediction>}`, FastAPI-style
`{"detail": "..."}` or `{"detail": [{"loc", "msg", "type"}]}` errors, 201 with `Location` for a
created prediction, `text/event-stream` for streams, and an `X-Request-Id` header on every
response (`inference_api_mock.request_ids`). Three routes outside the spec need no token:
`GET /openapi.yaml` (the spec this server implements), `GET /docs` (its API reference: the Redocly
page once `python3 scripts/dev docs` has built it in a checkout, else a plain page rendered from the
spec) and `GET /files/<id>.mp4` (video outputs).
With `faults=True`, the admin routes `POST/DELETE /_mock/faults` and `GET /_mock/requests` exist
too (same bearer token; each token plans, clears and sees only its own faults and requests; their
bodies have the same size limit as the API's).

Limits, so that a long-running server stays bounded and no token can crowd out another: request
bodies of at most 1 MiB on every route (`max_body_bytes`; more is 413). Per token
(`inference_api_mock.predictions`): at most 10,000 predictions kept, holding at most 256 MiB of
inputs and event data (`max_stored_bytes`), of which at most 1,000 unfinished; beyond that the
token's own oldest finished ones are forgotten first, and when its unfinished ones fill a limit its
new predictions get 429 with Retry-After. Per token too (`inference_api_mock.faults`): at most 1,000
fault plans waiting, and a request log of the last 10,000 requests with 64 MiB of bodies; requests
without a valid token go to a log of their own. The server keeps the data of at most `max_tokens`
tokens (default 16): a request with one more forgets everything of the token used least recently
(its predictions, running ones stopped; its fault plans; its recorded requests). In all, at most
about max_tokens * (max_stored_bytes + 64 MiB) with every token busy; one token: ~320 MiB.
Connections are bounded too (`inference_api_mock.serving`). A client that disconnects mid-request
is logged in one line (logger `inference_api_mock`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import attrs
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from inference_api_mock import files, sse
from inference_api_mock.auth import TokenChecker
from inference_api_mock.faults import ControlMiddleware, Fault, FaultBook, RequestLog, redact
from inference_api_mock.models import find_by_ref, find_by_version, known_refs
from inference_api_mock.predictions import MAX_STORED_BYTES, Prediction, Store, StoreFull
from inference_api_mock.reference import render_reference
from inference_api_mock.request_ids import RequestIdMiddleware
from inference_api_mock.spec import Operation, Spec, ValidationIssue, load_spec

logger = logging.getLogger("inference_api_mock")

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_KEEPALIVE_SECONDS = 15.0
DEFAULT_MAX_TOKENS = 16
RETRY_MS = 1000
MAX_JSON_DEPTH = 64
NOT_FOUND = "Prediction not found."
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# The API reference that `python3 scripts/dev docs` builds in a checkout (an installed package has none).
DOCS_PAGE = Path(__file__).resolve().parents[2] / "build" / "docs" / "index.html"


@attrs.frozen
class Control:
    """What tests reach from outside: the fault plan and the request log (None when off)."""

    faults: FaultBook | None
    requests: RequestLog | None


class RecentTokens:
    """The tokens whose data the server keeps: at most `max_tokens`, by last use.

    `seen` is called on the server's event loop for every request with a valid token; one token
    more than `max_tokens` calls `forget` with the least recently used one's fingerprint.
    """

    def __init__(self, max_tokens: int, forget: Callable[[str], None]) -> None:
        if max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        self.max_tokens = max_tokens
        self._forget = forget
        self._recent: OrderedDict[str, None] = OrderedDict()

    def seen(self, owner: str) -> None:
        if owner in self._recent:
            self._recent.move_to_end(owner)
            return
        self._recent[owner] = None
        while len(self._recent) > self.max_tokens:
            least_recent, _ = self._recent.popitem(last=False)
            logger.warning(
                "the data of %d tokens is kept, the limit: forgot the least recently used one's "
                "predictions, fault plans and recorded requests",
                self.max_tokens,
            )
            self._forget(least_recent)


class Problem(Exception):
    """An answer other than success, raised from deep inside a handler."""

    def __init__(self, status: int, detail: str | list[ValidationIssue], headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.detail = detail
        self.headers = headers


def _error(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _depth(value: Any) -> int:
    """How deeply lists and objects nest, computed without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return deepest


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:20]}… is too large")
    return value


def parse_json(body: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, numbers that fit, not absurdly deep, re-encodable."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float)
        if _depth(value) > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        # Lone surrogates (\ud800) parse but cannot be sent back as UTF-8: refuse them now.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError) as error:
        message = str(error) if isinstance(error, ValueError) else "nested too deeply"
        raise Problem(
            422, [{"loc": ["body"], "msg": f"JSON decode error: {message[:200]}", "type": "json_invalid"}]
        ) from None
    return value


class Handlers:
    """The operations, sharing the store, the spec and the request checks."""

    def __init__(
        self,
        checker: TokenChecker,
        store: Store,
        spec: Spec,
        *,
        keepalive: float,
        max_body: int,
        tokens: RecentTokens | None = None,
    ) -> None:
        self.checker = checker
        self.tokens = tokens
        self.store = store
        self.spec = spec
        self.keepalive = keepalive
        self.max_body = max_body

    # Checks shared by the routes.

    def owner(self, request: Request) -> str:
        owner, detail = self.checker.owner(request.headers.get("authorization"))
        if owner is None:
            raise Problem(401, detail, {"WWW-Authenticate": "Bearer"})
        if self.tokens is not None:
            self.tokens.seen(owner)
        return owner

    def owner_or_none(self, authorization: str | None) -> str | None:
        """The fingerprint of a valid token (and one more use of it), else None."""
        owner, _ = self.checker.owner(authorization)
        if owner is not None and self.tokens is not None:
            self.tokens.seen(owner)
        return owner

    def check_parameters(self, request: Request, operation: Operation) -> None:
        issues = operation.check_parameters(request.path_params, request.headers)
        if issues:
            raise Problem(422, issues)

    async def read_body(self, request: Request) -> bytes:
        """The request's body, read up to `max_body` bytes: more is 413, whatever the route."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise Problem(413, f"Request body is larger than {self.max_body} bytes.")
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                raise Problem(413, f"Request body is larger than {self.max_body} bytes.")
            chunks.append(chunk)
        return b"".join(chunks)

    async def json_body(self, request: Request, operation: Operation) -> Any:
        body = await self.read_body(request)
        request.state.body_size = len(body)  # what the prediction it creates counts against the store's limit
        if not body:
            raise Problem(422, [{"loc": ["body"], "msg": "Field required", "type": "missing"}])
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            raise Problem(415, f"Content type {media_type or '(none)'!r} is not supported; send application/json.")
        value = parse_json(body)
        issues = operation.check_body(value)
        if issues:
            raise Problem(422, issues)
        return value

    def prediction(self, request: Request, owner: str, operation: Operation) -> Prediction:
        self.check_parameters(request, operation)
        prediction = self.store.get(owner, request.path_params["prediction_id"])
        if prediction is None:
            raise Problem(404, NOT_FOUND)
        return prediction

    def new_prediction(self, request: Request, **fields: Any) -> Prediction:
        try:
            return self.store.create(size=getattr(request.state, "body_size", 0), **fields)
        except StoreFull as full:
            raise Problem(429, str(full), {"Retry-After": "1"}) from None

    @staticmethod
    def base_url(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def envelope(self, request: Request, prediction: Prediction, status: int = 200, **kw: Any) -> JSONResponse:
        return JSONResponse({"data": prediction.to_json(self.base_url(request))}, status_code=status, **kw)

    def event_stream(self, prediction: Prediction, last_id: int = 0) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            retry: int | None = RETRY_MS
            async for event in prediction.events_after(last_id, self.keepalive):
                if event is None:
                    yield sse.KEEP_ALIVE
                else:
                    yield sse.encode(event, retry_ms=retry)
                    retry = None

        return StreamingResponse(body(), media_type="text/event-stream", headers=STREAM_HEADERS)

    # The operations.

    async def create_prediction(self, request: Request) -> Response:
        operation = self.spec.operation("createPrediction")
        owner = self.owner(request)
        body = await self.json_body(request, operation)
        model = find_by_version(body["version"])
        if model is None:
            raise Problem(404, f"Unknown model version {body['version']!r}. This server knows: {known_refs()}.")
        prediction = self.new_prediction(
            request,
            owner=owner,
            model=model,
            values=body["input"],
            base_url=self.base_url(request),
            stream=bool(body.get("stream", False)),
            webhook=body.get("webhook"),
            webhook_events=body.get("webhook_events_filter"),
        )
        response = self.envelope(request, prediction, 201)
        response.headers["Location"] = f"{self.base_url(request)}/v1/predictions/{prediction.id}"
        return response

    async def get_prediction(self, request: Request) -> Response:
        owner = self.owner(request)
        return self.envelope(request, self.prediction(request, owner, self.spec.operation("getPrediction")))

    async def cancel_prediction(self, request: Request) -> Response:
        owner = self.owner(request)
        prediction = self.prediction(request, owner, self.spec.operation("cancelPrediction"))
        self.store.cancel(prediction)
        return self.envelope(request, prediction)

    async def stream_prediction(self, request: Request) -> Response:
        owner = self.owner(request)
        prediction = self.prediction(request, owner, self.spec.operation("streamPrediction"))
        last_id = int(request.headers.get("last-event-id", "0"))  # its pattern was checked: digits
        return self.event_stream(prediction, last_id)

    async def _run(self, request: Request, operation_id: str, stream: bool) -> Prediction:
        owner = self.owner(request)
        body = await self.json_body(request, self.spec.operation(operation_id))
        model, problem = find_by_ref(body["model"])
        if model is None:
            raise Problem(404, problem)
        return self.new_prediction(
            request, owner=owner, model=model, values=body["input"], base_url=self.base_url(request), stream=stream
        )

    async def run_model(self, request: Request) -> Response:
        prediction = await self._run(request, "runModel", stream=False)
        await prediction.settled.wait()
        if not prediction.is_final:
            raise Problem(503, "The server is stopping; fetch the prediction elsewhere or run it again.")
        return self.envelope(request, prediction)

    async def run_model_sse(self, request: Request) -> Response:
        prediction = await self._run(request, "runModelSse", stream=True)
        return self.event_stream(prediction)

    async def openapi_document(self, request: Request) -> Response:
        return Response(self.spec.source, media_type="application/yaml")

    async def video_file(self, request: Request) -> Response:
        name: str = request.path_params["name"]
        prediction_id = name.removesuffix(".mp4")
        if not name.endswith(".mp4") or not self.store.video_file_exists(prediction_id):
            raise Problem(404, "File not found.")
        return Response(files.fake_mp4(), media_type=files.MEDIA_TYPE)


class AdminHandlers:
    """`/_mock/*`: the fault plan and the request log over HTTP (only with faults enabled)."""

    def __init__(self, handlers: Handlers, control: Control) -> None:
        self.handlers = handlers
        self.control = control

    async def add_fault(self, request: Request) -> Response:
        owner = self.handlers.owner(request)
        assert self.control.faults is not None
        try:
            fields = parse_json(await self.handlers.read_body(request))
            if not isinstance(fields, dict):
                raise Problem(422, 'Send a JSON object: {"route": "METHOD /path", ...}.')
            fault = Fault(**fields)
            self.control.faults.add(fault, owner)  # for this token's requests only
        except (TypeError, ValueError) as error:
            raise Problem(422, str(error)) from None
        return JSONResponse({"data": attrs.asdict(fault)}, status_code=201)

    async def clear_faults(self, request: Request) -> Response:
        owner = self.handlers.owner(request)
        assert self.control.faults is not None
        self.control.faults.clear(owner)
        return Response(status_code=204)

    async def recorded_requests(self, request: Request) -> Response:
        owner = self.handlers.owner(request)
        assert self.control.requests is not None
        data = [
            {
                "method": recorded.method,
                "path": recorded.path,
                "headers": redact(recorded.headers),
                "body": recorded.body.decode("utf-8", errors="replace"),
            }
            for recorded in self.control.requests.snapshot(owner)
        ]
        return JSONResponse({"data": data})


def docs_route(page: Path, spec: Spec) -> Route:
    """`GET /docs`: the Redocly reference when a checkout built it (read at each request: a rebuild
    shows on reload), else a plain one rendered from the spec (`inference_api_mock.reference`)."""
    rendered: list[str] = []  # rendered on first use, then kept: the spec does not change

    async def docs(request: Request) -> Response:
        if await anyio.Path(page).is_file():
            return FileResponse(page, media_type="text/html")
        if not rendered:
            rendered.append(render_reference(spec.document))
        return HTMLResponse(rendered[0])

    return Route("/docs", docs, methods=["GET"])


def _with_problems(endpoint: Any) -> Any:
    async def guarded(request: Request) -> Response:
        try:
            response: Response = await endpoint(request)
        except Problem as problem:
            return _error(problem.status, problem.detail, problem.headers)
        except ClientDisconnect:
            # Not the server's failure: one line, not a traceback. The answer goes nowhere.
            logger.info("client disconnected before sending all of %s %s", request.method, request.url.path)
            return Response(status_code=400)
        return response

    return guarded


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, exc.detail, dict(exc.headers or {}))


def create_app(
    tokens: Iterable[str],
    *,
    speed: float = 1.0,
    faults: bool = False,
    record_requests: bool | None = None,
    keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_stored_bytes: int = MAX_STORED_BYTES,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    spec: Spec | None = None,
    docs_page: Path = DOCS_PAGE,
) -> Starlette:
    """The mock server as an ASGI app; `app.state.control` holds its fault plan and request log.

    `speed` scales model time (1.0 looks real; tests use 100 or more). `faults` enables fault plans
    and the `/_mock/*` routes; `record_requests` (default: as `faults`) keeps a log of requests.
    `max_body_bytes` bounds a request body, `max_stored_bytes` what each token's predictions hold,
    `max_tokens` how many tokens' data is kept (see the module docstring).
    `docs_page` is the HTML file served at `/docs` when it exists (default: build/docs/index.html of
    the checkout); without it, `/docs` is rendered from the spec.
    """
    spec = spec or load_spec()
    store = Store(speed, max_stored_bytes=max_stored_bytes, spec=spec)
    control = Control(
        faults=FaultBook(spec.route_templates()) if faults else None,
        requests=RequestLog() if (faults if record_requests is None else record_requests) else None,
    )

    def forget(owner: str) -> None:
        store.forget_owner(owner)
        if control.faults is not None:
            control.faults.clear(owner)
        if control.requests is not None:
            control.requests.clear(owner)

    handlers = Handlers(
        TokenChecker(tokens),
        store,
        spec,
        keepalive=keepalive_seconds,
        max_body=max_body_bytes,
        tokens=RecentTokens(max_tokens, forget),
    )
    routes = [
        Route("/v1/predictions", _with_problems(handlers.create_prediction), methods=["POST"]),
        Route("/v1/predictions/{prediction_id}", _with_problems(handlers.get_prediction), methods=["GET"]),
        Route("/v1/predictions/{prediction_id}/cancel", _with_problems(handlers.cancel_prediction), methods=["POST"]),
        Route("/v1/predictions/{prediction_id}/stream", _with_problems(handlers.stream_prediction), methods=["GET"]),
        Route("/v1/run", _with_problems(handlers.run_model), methods=["POST"]),
        Route("/v1/run_sse", _with_problems(handlers.run_model_sse), methods=["POST"]),
        Route("/files/{name}", _with_problems(handlers.video_file), methods=["GET"]),
        Route("/openapi.yaml", handlers.openapi_document, methods=["GET"]),
        docs_route(docs_page, spec),
    ]
    if faults:
        admin = AdminHandlers(handlers, control)
        routes += [
            Route("/_mock/faults", _with_problems(admin.add_fault), methods=["POST"]),
            Route("/_mock/faults", _with_problems(admin.clear_faults), methods=["DELETE"]),
            Route("/_mock/requests", _with_problems(admin.recorded_requests), methods=["GET"]),
        ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.loop = asyncio.get_running_loop()  # for MockServer.stop(), from another thread
        yield
        await store.aclose()

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: _http_exception})
    app.router.redirect_slashes = False  # a redirect would be an undocumented answer
    app.state.control = control
    app.state.store = store
    app.state.loop = None
    app.add_middleware(
        ControlMiddleware,
        faults=control.faults,
        log=control.requests,
        max_body_bytes=max_body_bytes,
        owner=handlers.owner_or_none,
    )
    app.add_middleware(RequestIdMiddleware)  # outermost: planned faults get an id too
    return app
