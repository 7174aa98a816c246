"""`python -m inference_api_mock`: serve the mock server until stopped (Ctrl-C).

    python -m inference_api_mock --host 127.0.0.1 --port 8000 --token TOKEN [--token OTHER] [--speed 1.0] [--faults]

The first line on stdout is the base URL, printed once the server accepts connections (with
`--port 0`, the system picks a free port and this line says which). Tokens come from `--token`
(repeatable), else from the environment variable MOCK_SERVER_TOKENS (comma-separated), else one is
generated and printed on the second line.

Limits, so that a server left running stays bounded and no client can lock out another (see
`--help` for the options that change them):

    connections     a whole request (headers and body) within --request-read-timeout (10 s) of
                    connecting or of the previous answer; idle kept-alive ones close after 5 s;
                    at most --max-connections open (default: what the open-file limit leaves,
                    at most 4,096), one more closing the one that waited longest for a request
    bodies          at most --max-body-bytes (1 MiB) on every route, /_mock/* too: 413 beyond
    per token       10,000 predictions and --max-stored-bytes (256 MiB) of their inputs and
                    events, the oldest finished forgotten first; 1,000 unfinished (429 beyond);
                    1,000 fault plans; a request log of 10,000 requests and 64 MiB of bodies
    tokens          the data of at most --max-tokens (16): one more forgets the least recently
                    used one's predictions, fault plans and request log
    logs            one line per kind of trouble (connections closed, accept() failing) at most
                    every 10 s, with a count; no traceback storms
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from inference_api_mock._extra import message, missing_dependency

try:
    from inference_api_mock.app import (
        DEFAULT_KEEPALIVE_SECONDS,
        DEFAULT_MAX_BODY_BYTES,
        DEFAULT_MAX_TOKENS,
        create_app,
    )
    from inference_api_mock.auth import random_token
    from inference_api_mock.predictions import MAX_STORED_BYTES
    from inference_api_mock.serving import (
        DEFAULT_REQUEST_READ_TIMEOUT,
        MAX_CONNECTIONS_CEILING,
        base_url,
        bind,
        uvicorn_server,
    )
    from inference_api_mock.serving import serve as serve_on
except ModuleNotFoundError as error:
    missing = missing_dependency(error)
    if missing is None:
        raise
    sys.exit(message(missing, "python -m inference_api_mock"))

TOKENS_ENV = "MOCK_SERVER_TOKENS"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m inference_api_mock",
        description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[2:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on; 0 picks a free one (default: 8000)")
    parser.add_argument(
        "--token", action="append", default=[], help=f"a valid bearer token; repeatable (default: ${TOKENS_ENV})"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="model speed; 1.0 looks real, 100 is instant")
    parser.add_argument("--faults", action="store_true", help="enable fault plans and the /_mock/* routes")
    parser.add_argument(
        "--keepalive", type=float, default=DEFAULT_KEEPALIVE_SECONDS, help="seconds between keep-alives"
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="larger bodies get 413, on every route (default: 1 MiB)",
    )
    parser.add_argument(
        "--max-stored-bytes",
        type=int,
        default=MAX_STORED_BYTES,
        help="bytes of inputs and events each token's predictions may hold (default: 256 MiB); "
        "its oldest finished go first",
    )
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=DEFAULT_MAX_TOKENS,
        help="tokens whose predictions, fault plans and recorded requests are kept; one more forgets "
        f"the least recently used one's (default: {DEFAULT_MAX_TOKENS})",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=None,
        help="connections open at once; one more closes the one that waited longest for a request "
        f"(default: what the open-file limit leaves, at most {MAX_CONNECTIONS_CEILING})",
    )
    parser.add_argument(
        "--request-read-timeout",
        type=float,
        default=DEFAULT_REQUEST_READ_TIMEOUT,
        help="seconds a client has to send a whole request, headers and body, before its connection "
        f"is closed (default: {DEFAULT_REQUEST_READ_TIMEOUT:g})",
    )
    parser.add_argument("--log-level", default="warning", help="uvicorn's log level (default: warning)")
    args = parser.parse_args(argv)
    if not args.speed > 0:
        parser.error("--speed must be positive")
    if args.max_tokens < 1:
        parser.error("--max-tokens must be at least 1")
    if args.max_connections is not None and args.max_connections < 1:
        parser.error("--max-connections must be at least 1")
    if not args.request_read_timeout > 0:
        parser.error("--request-read-timeout must be positive")
    return args


def tokens_from(args: argparse.Namespace) -> tuple[list[str], bool]:
    """The tokens to accept, and whether they were generated here."""
    if args.token:
        return list(args.token), False
    from_env = [token.strip() for token in os.environ.get(TOKENS_ENV, "").split(",") if token.strip()]
    if from_env:
        return from_env, False
    return [random_token()], True


async def serve(args: argparse.Namespace) -> None:
    tokens, generated = tokens_from(args)
    app = create_app(
        tokens,
        speed=args.speed,
        faults=args.faults,
        keepalive_seconds=args.keepalive,
        max_body_bytes=args.max_body_bytes,
        max_stored_bytes=args.max_stored_bytes,
        max_tokens=args.max_tokens,
    )
    sock = bind(args.host, args.port)
    server = uvicorn_server(
        app,
        args.log_level,
        max_connections=args.max_connections,
        request_read_timeout=args.request_read_timeout,
    )

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.01)
        print(base_url(sock), flush=True)
        if generated:
            print(f"token: {tokens[0]}", flush=True)

    announcer = asyncio.create_task(announce())
    try:
        await serve_on(server, [sock])
    finally:
        announcer.cancel()
        sock.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    except OSError as error:
        sys.exit(f"inference_api_mock: {error}")


if __name__ == "__main__":
    main()
