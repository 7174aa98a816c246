"""Downloading a large file to disk: ours against raw httpx and raw aiohttp, time and memory, side by side.

    .venv/bin/python benchmarks/bench_download.py [--mib N] [--rounds R] [--quick]

benchmarks/_rawserver.py serves N MiB (default 256) from memory over loopback, in its own process.
Each download runs in a fresh process (so that its peak resident set is its own) and writes to a
file in a temporary directory; rounds are interleaved. Contenders:
- sync: ours `download(url, path, client=client)` against raw httpx, `client.stream("GET", url)`
  and `iter_bytes()` written to a file (no atomic rename, no deadline, no typed errors);
- async: ours `async_download` (on the aiohttp transport, what `connect()` picks with the `fast`
  extra, and on httpx's own pool) against raw aiohttp, `session.get(url)` and
  `content.iter_chunked(64 KiB)` written to a file from the event loop, and raw `httpx.AsyncClient`
  on its own pool and on the SDK's aiohttp transport (the least httpx itself costs there).

Printed: wall time (median and spread), MB/s, CPU time, and the peak resident set growth during
the download. Aims: sync at most 1.1x raw httpx, async at most 1.3x raw aiohttp, memory flat.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import Bench, fmt_ratio, median, ratios, reset_peak, spread, status_bytes
from _rawserver import TOKEN, raw_server

CHUNK = 64 * 1024
SYNC = ("ours: download", "raw httpx")
HTTPX_ON_AIOHTTP = "raw httpx async, aiohttp transport"
ASYNC = (
    "ours: async_download (aiohttp)",
    "ours: async_download (httpx pool)",
    "raw aiohttp",
    "raw httpx async",
    HTTPX_ON_AIOHTTP,
)


def _download(contender: str, url: str, path: Path) -> None:
    """In the child: one download of `url` to `path`, the way `contender` does it."""
    import aiohttp
    import httpx

    from inference_api._aiohttp import MappedAiohttpTransport
    from inference_api.connection import connect
    from inference_api.files import async_download, download

    if contender == "ours: download":
        with connect(TOKEN, url.rsplit("/files/", 1)[0]) as client:
            download(url, path, client=client)
    elif contender == "raw httpx":
        with httpx.Client() as http, http.stream("GET", url) as response, open(path, "wb") as out:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                out.write(chunk)
    elif contender.startswith("ours: async_download"):

        async def ours_async() -> None:
            fast = "aiohttp" in contender
            async with connect(TOKEN, url.rsplit("/files/", 1)[0], fast_async=fast) as client:
                await async_download(url, path, client=client)

        asyncio.run(ours_async())
    elif contender == "raw aiohttp":

        async def raw_aiohttp() -> None:
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                response.raise_for_status()
                with open(path, "wb") as out:  # noqa: ASYNC230 (as users of aiohttp write it)
                    async for chunk in response.content.iter_chunked(CHUNK):
                        out.write(chunk)

        asyncio.run(raw_aiohttp())
    elif contender in ("raw httpx async", HTTPX_ON_AIOHTTP):

        async def raw_httpx_async() -> None:
            transport = MappedAiohttpTransport() if contender == HTTPX_ON_AIOHTTP else None
            async with httpx.AsyncClient(transport=transport) as http, http.stream("GET", url) as response:
                response.raise_for_status()
                with open(path, "wb") as out:  # noqa: ASYNC230 (as users of httpx write it)
                    async for chunk in response.aiter_bytes():
                        out.write(chunk)

        asyncio.run(raw_httpx_async())
    else:
        raise ValueError(contender)


def _probe(contender: str, url: str, directory: str) -> None:
    """In the child: warm up (imports, a small file), then time one download; print JSON."""
    path = Path(directory) / "download.bin"
    _download(contender, url.rsplit("/", 1)[0] + "/1024.bin", path)
    # A new file each time, as a download usually makes: ext4 flushes a file that replaces
    # another by rename, or that was truncated, on close (auto_da_alloc), which would time the disk.
    path.unlink()
    reset_peak()
    before = status_bytes("VmRSS")
    cpu, wall = time.process_time(), time.perf_counter()
    _download(contender, url, path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    size = path.stat().st_size
    path.unlink()
    result = {"wall": wall, "cpu": cpu, "growth": status_bytes("VmHWM") - before, "size": size}
    print(json.dumps(result))


def _run(contender: str, url: str, directory: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--probe", contender, url, directory]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603 (ours)
    result: dict[str, Any] = json.loads(output)
    return result


def measure(contenders: tuple[str, ...], url: str, rounds: int, size: int) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
    with tempfile.TemporaryDirectory(prefix="bench-download-") as directory:
        for round_number in range(rounds):
            shift = round_number % len(contenders)
            for name in contenders[shift:] + contenders[:shift]:
                result = _run(name, url, directory)
                if result["size"] != size:
                    raise SystemExit(f"{name} wrote {result['size']} bytes, expected {size}")
                results[name].append(result)
    return results


def report(bench: Bench, title: str, results: dict[str, list[dict[str, Any]]], reference: str, size: int) -> None:
    rows = []
    walls = {name: [sample["wall"] for sample in samples] for name, samples in results.items()}
    for name, samples in results.items():
        wall = walls[name]
        cpu = [sample["cpu"] for sample in samples]
        growth = [sample["growth"] for sample in samples]
        rows.append(
            [
                name,
                f"{median(wall) * 1e3:.0f}",
                spread(wall, 1e3),
                f"{size / median(wall) / 1e6:.0f}",
                f"{median(cpu) * 1e3:.0f}",
                f"{median(growth) / 2**20:.1f} (max {max(growth) / 2**20:.1f})",
                fmt_ratio(ratios(wall, walls[reference])),
            ]
        )
    bench.table(
        title,
        ["contender", "wall ms", "spread", "MB/s", "CPU ms", "RSS growth MiB", f"wall vs {reference}"],
        rows,
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--probe":
        _probe(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    bench = Bench(__doc__)
    bench.parser.add_argument("--mib", type=int, default=256)
    bench.parser.add_argument("--rounds", type=int, default=5)
    args = bench.parse()
    mib = 16 if bench.quick else args.mib
    rounds = 2 if bench.quick else args.rounds
    size = mib * 2**20
    with raw_server() as base_url:
        url = f"{base_url}/files/{size}.bin"
        sync = measure(SYNC, url, rounds, size)
        report(bench, f"sync download of {mib} MiB, {rounds} interleaved rounds", sync, "raw httpx", size)
        in_async = measure(ASYNC, url, rounds, size)
        report(bench, f"async download of {mib} MiB, {rounds} interleaved rounds", in_async, "raw aiohttp", size)
    for what, results, ours, peer, goal in (
        ("download() of", sync, "ours: download", "raw httpx", 1.1),
        ("async_download() of", in_async, "ours: async_download (aiohttp)", "raw aiohttp", 1.3),
    ):
        bench.aim_ratios(
            f"{what} {mib} MiB, wall time",
            [sample["wall"] for sample in results[ours]],
            [sample["wall"] for sample in results[peer]],
            peer_name=peer,
            goal=goal,
            unit="ms",
            scale=1e3,
        )
    bench.aim_ratios(
        f"raw httpx on the same aiohttp transport, {mib} MiB, wall time (the floor under httpx)",
        [sample["wall"] for sample in in_async[HTTPX_ON_AIOHTTP]],
        [sample["wall"] for sample in in_async["raw aiohttp"]],
        peer_name="raw aiohttp",
        goal=None,
        unit="ms",
        scale=1e3,
    )
    ours_wall = median([sample["wall"] for sample in in_async["ours: async_download (aiohttp)"]])
    httpx_wall = median([sample["wall"] for sample in in_async[HTTPX_ON_AIOHTTP]])
    raw_wall = median([sample["wall"] for sample in in_async["raw aiohttp"]])
    bench.note(
        f"async download: raw httpx streaming through the SDK's aiohttp transport takes {httpx_wall / raw_wall:.2f}x "
        f"raw aiohttp, ours {ours_wall / raw_wall:.2f}x: the SDK adds {ours_wall / httpx_wall - 1:+.0%} to httpx "
        "(its deadline timer, the atomic rename); reading aiohttp's body around httpx would take "
        "downloads out of httpx's event hooks, auth and decoding"
    )
    growths = [s["growth"] for name in (*SYNC, *ASYNC) for s in (sync | in_async)[name] if name.startswith("ours")]
    bench.note(
        f"ours: peak RSS growth during a {mib} MiB download at most {max(growths) / 2**20:.1f} MiB (memory flat)"
    )
    bench.finish()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
