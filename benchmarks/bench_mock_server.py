"""GET requests per second the mock server answers over loopback, next to a bare floor.

    .venv/bin/python benchmarks/bench_mock_server.py [--seconds S] [--connections C] [--rounds R] [--quick]

Is the mock server fast enough that client benchmarks measure the client? Each server runs in its
own process (`python -m inference_api_mock`, like users run it); this process is the load: C keep-alive
connections on raw asyncio streams, each sending `GET /v1/predictions/<id>` with the bearer token
and reading the answer by its Content-Length (a load generator much cheaper than an HTTP client
library, so the figure is the server's). Contenders, side by side, rounds interleaved:

- mock server: the real thing (auth, spec validation of the id, the prediction's JSON);
- floor: a bare Starlette route under the same uvicorn settings answering the same bytes (no
  auth, no validation, no state): what the framework costs by itself.

Also printed: one sequential `httpx.Client` against the mock server, what a typical synchronous
client sees. Numbers depend on the machine; on 2 shared cores load and server compete for CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

import httpx
from _harness import Bench, server_process

from inference_api_mock.models import ECHO

TOKEN = "bench-token"  # noqa: S105 - a test token for a local server


def serve_floor(body: bytes) -> None:
    """The floor contender: one route that answers fixed bytes; prints its base URL like ours."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from inference_api_mock.serving import base_url, bind, uvicorn_server

    async def fixed(request: Request) -> Response:
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route("/v1/predictions/{prediction_id}", fixed)])
    sock = bind("127.0.0.1", 0)
    server = uvicorn_server(app)

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.01)
        print(base_url(sock), flush=True)
        await task

    asyncio.run(main())


async def load(base_url: str, path: str, seconds: float, connections: int) -> float:
    """Requests per second over `connections` keep-alive connections for `seconds`."""
    host, port = base_url.removeprefix("http://").split(":")
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Accept: application/json\r\n\r\n"
    ).encode()
    deadline = time.perf_counter() + seconds
    counts = [0] * connections

    async def worker(index: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(head.decode(errors="replace"))
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                counts[index] += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(index) for index in range(connections)))
    return sum(counts) / (time.perf_counter() - started)


def sequential_httpx(base_url: str, path: str, seconds: float) -> float:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        count = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            client.get(path).raise_for_status()
            count += 1
        return count / (time.perf_counter() - started)


def main() -> None:
    bench = Bench(__doc__.split("\n\n")[0])
    bench.parser.add_argument("--seconds", type=float, default=2.0, help="length of one round per contender")
    bench.parser.add_argument("--connections", type=int, default=8)
    bench.parser.add_argument("--rounds", type=int, default=3)
    bench.parser.add_argument("--serve-floor", action="store_true", help=argparse.SUPPRESS)
    args = bench.parse()
    if args.serve_floor:
        serve_floor(sys.stdin.buffer.read())
        return
    seconds, rounds = (0.5, 1) if bench.quick else (args.seconds, args.rounds)

    ours_command = [sys.executable, "-m", "inference_api_mock", "--port", "0", "--token", TOKEN, "--speed", "1000"]
    with server_process(ours_command) as ours:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        created = httpx.post(f"{ours}/v1/run", json={"model": ECHO, "input": {"n": 1}}, headers=headers)
        path = f"/v1/predictions/{created.json()['data']['id']}"
        body = httpx.get(ours + path, headers=headers).content
        floor_command = [sys.executable, __file__, "--serve-floor"]
        with server_process(floor_command, stdin=body) as floor:
            results: dict[str, list[float]] = {"mock server": [], "floor (bare Starlette)": []}
            for _ in range(rounds):
                results["mock server"].append(asyncio.run(load(ours, path, seconds, args.connections)))
                results["floor (bare Starlette)"].append(asyncio.run(load(floor, path, seconds, args.connections)))
            sequential = sequential_httpx(ours, path, seconds)

    ours_median = statistics.median(results["mock server"])
    rows = []
    for name, rates in results.items():
        middle = statistics.median(rates)
        rows.append([name, f"{middle:,.0f}", f"{max(rates):,.0f}", f"{middle / ours_median:.2f}x"])
    rows.append(["httpx.Client, 1 at a time, on the mock server", f"{sequential:,.0f}", "", ""])
    bench.table(
        f"GET of a {len(body)}-byte prediction, {args.connections} keep-alive connections, {rounds} rounds",
        ["server", "req/s (median)", "best", "vs mock server"],
        rows,
    )
    floor_median = statistics.median(results["floor (bare Starlette)"])
    bench.aim(
        "mock server, GETs per second",
        ours=f"{ours_median:,.0f} req/s",
        peer=f"{floor_median:,.0f} req/s",
        peer_name="bare Starlette route",
        ratio=ours_median / floor_median,
        goal=None,
    )
    bench.finish()


if __name__ == "__main__":
    main()
