"""scripts/bench runs every benchmark and writes a self-describing report; docs/development.md quotes its summary.

No timing is asserted anywhere: only that the report is made, says where and how it was made, and
carries each benchmark's tables, aims and failures.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.script_module import load_script

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench() -> Any:
    return load_script(ROOT / "scripts" / "bench")


def write(directory: Path, name: str, source: str) -> None:
    (directory / name).write_text(textwrap.dedent(source))


def test_the_report_has_the_run_each_benchmark_and_every_failure(
    bench: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    benchmarks = tmp_path / "benchmarks"
    benchmarks.mkdir()
    write(
        benchmarks,
        "bench_harnessed.py",
        f'''
        """A benchmark that uses the harness.

        More words that are not its first paragraph.
        """
        import sys
        sys.path.insert(0, {str(ROOT / "benchmarks")!r})
        from _harness import Bench

        bench = Bench(__doc__)
        bench.parse()
        bench.note(f"quick={{bench.quick}}")
        bench.table("a table", ["contender", "µs"], [["ours", "1"], ["peer | pipe", "2"]], note="a note")
        bench.aim("held to a goal", ours="1 µs", peer="2 µs", peer_name="peer", ratio=0.5, goal=1.1)
        bench.aim("missed", ours="3 µs", peer="2 µs", peer_name="peer", ratio=1.5, goal=1.1)
        bench.aim("a figure", ours="61/61", peer="46/61", peer_name="peer", ratio=None, goal=None, shown="61/61")
        bench.finish()
        ''',
    )
    write(benchmarks, "bench_plain.py", 'print("plain output, as it is")\n')
    write(benchmarks, "bench_failing.py", 'import sys\nprint("went wrong")\nsys.exit(3)\n')
    write(benchmarks, "_helper.py", 'raise SystemExit("a helper is not a benchmark")\n')
    output = tmp_path / "bench-report.txt"  # any name: --output takes it as given

    code = bench.main(["--output", str(output), "--benchmarks", str(benchmarks)])

    assert code == 1  # one failed
    report = output.read_text()
    for expected in (
        "## The run",
        "- CPU: ",
        "- packages: httpx ",
        "load average (1 min) during the run: ",
        "| `bench_failing.py` |",
        "**exit 3**",
        "**failed**: bench_failing.py",
        "A benchmark that uses the harness.",
        "quick=False",
        "**a table**",
        "| peer \\| pipe | 2 |",
        "a note",
        "| held to a goal | 1 µs | peer: 2 µs | 0.50x | ≤ 1.1x | met | `bench_harnessed.py` |",
        "| missed | 3 µs | peer: 2 µs | 1.50x | ≤ 1.1x | **not met** | `bench_harnessed.py` |",
        "| a figure | 61/61 | peer: 46/61 | 61/61 |  |  | `bench_harnessed.py` |",
        "```text\nplain output, as it is\n```",
        "```text\nwent wrong\n```",
    ):
        assert expected in report, expected
    assert "More words" not in report
    assert "helper" not in report
    # Aims come before figures held to no goal.
    assert report.index("| held to a goal") < report.index("| a figure")
    assert "wrote" in capsys.readouterr().out


def test_a_quick_run_skips_what_has_no_quick_version(
    bench: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    benchmarks = tmp_path / "benchmarks"
    benchmarks.mkdir()
    write(benchmarks, "bench_plain.py", 'raise SystemExit("not run in a quick run")\n')
    write(
        benchmarks,
        "bench_harnessed.py",
        f"""
        import sys
        sys.path.insert(0, {str(ROOT / "benchmarks")!r})
        from _harness import Bench

        bench = Bench(None)
        bench.parse()
        bench.note(f"quick={{bench.quick}}")
        bench.finish()
        """,
    )
    output = tmp_path / "bench-report.txt"  # any name: --output takes it as given
    assert bench.main(["--quick", "--output", str(output), "--benchmarks", str(benchmarks)]) == 0
    report = output.read_text()
    assert "(a --quick smoke run)" in report and "quick=True" in report
    assert "bench_plain" not in report
    assert "--quick skips what does not use benchmarks/_harness.py: bench_plain.py" in capsys.readouterr().out


def test_a_quick_run_of_a_real_benchmark(bench: Any, tmp_path: Path) -> None:
    output = tmp_path / "bench-report.txt"  # any name: --output takes it as given
    assert bench.main(["--quick", "--output", str(output), "sse_conformance"]) == 0
    report = output.read_text()
    assert "### `sse_conformance.py`" in report
    assert "| decoder | passed |" in report


def harnessed(figure: str, ratio: float) -> str:
    """A benchmark that uses the harness, with one table and one aim whose figures it is given."""
    return f"""
        import sys
        sys.path.insert(0, {str(ROOT / "benchmarks")!r})
        from _harness import Bench

        bench = Bench("A benchmark, {figure}.")
        bench.parse()
        bench.table("a table", ["contender", "µs"], [["ours", "{figure}"]])
        bench.aim("an aim", ours="{figure} µs", peer="2 µs", peer_name="peer", ratio={ratio}, goal=1.1)
        bench.aim("a figure", ours="{figure} µs", peer="2 µs", peer_name="peer", ratio={ratio}, goal=None)
        bench.finish()
        """


def test_update_replaces_only_what_it_reruns(bench: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    benchmarks = tmp_path / "benchmarks"
    benchmarks.mkdir()
    write(benchmarks, "bench_alpha.py", harnessed("old-alpha", 1.5))
    write(benchmarks, "bench_beta.py", harnessed("old-beta", 0.5))
    output = tmp_path / "bench-report.txt"  # any name: --output takes it as given
    readme = tmp_path / "development.md"
    readme.write_text(f"before\n{bench.SUMMARY_START}\nold summary\n{bench.SUMMARY_END}\nafter\n")
    monkeypatch.setattr(bench, "SUMMARY_PAGE", readme)
    monkeypatch.setattr(bench, "REPORT", output)  # the report whose update also updates the summary page
    assert bench.main(["--output", str(output), "--benchmarks", str(benchmarks)]) == 0
    write(benchmarks, "bench_alpha.py", harnessed("new-alpha", 0.9))
    write(benchmarks, "bench_beta.py", 'raise SystemExit("not rerun")\n')

    assert bench.main(["--update", "alpha", "--output", str(output), "--benchmarks", str(benchmarks)]) == 0

    report = output.read_text()
    assert "old-alpha" not in report
    assert "old-beta" in report  # beta's section and rows are kept
    assert "- rerun: `bench_alpha.py` on " in report and "here and the reruns it lists;" in report
    assert report.count("### `bench_alpha.py`") == 1
    load_rows = [line for line in report.splitlines() if line.startswith("| `bench_")]
    assert [row.split(" | ")[0] for row in load_rows] == ["| `bench_alpha.py`", "| `bench_beta.py`"]
    rows = summary_rows(report.split("## Summary", 1)[1].split("\n## ", 1)[0])
    # As a full run orders them: aims first, then figures, each in benchmark order.
    assert [(row.split(" | ")[0], row.split(" | ")[1]) for row in rows[1:]] == [
        ("| an aim", "new-alpha µs"),
        ("| an aim", "old-beta µs"),
        ("| a figure", "new-alpha µs"),
        ("| a figure", "old-beta µs"),
    ]
    assert "| an aim | new-alpha µs | peer: 2 µs | 0.90x | ≤ 1.1x | met | `bench_alpha.py` |" in rows
    # The summary page quotes the merged summary, header and all, and says what was rerun.
    quoted = readme.read_text()
    assert quoted.startswith("before\n") and quoted.endswith("after\n") and "old summary" not in quoted
    assert "| what | ours | peer |" in quoted and summary_rows(quoted) == rows
    assert "with bench_alpha.py rerun on " in quoted


def test_update_needs_the_benchmarks_named(bench: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--update"]) == 2
    assert "--update reruns the benchmarks named" in capsys.readouterr().out


def test_a_quick_run_of_the_sse_benchmark_reads_every_decoder(bench: Any, tmp_path: Path) -> None:
    # Correctness only: the benchmark checks every decoder's events and data against the expected ones.
    output = tmp_path / "bench-report.txt"
    assert bench.main(["--quick", "--output", str(output), "bench_sse"]) == 0
    report = output.read_text()
    for workload in ("one event per chunk", "4 KiB chunks split anywhere"):
        for contender in ("SSEDecoder.feed", "iter_events"):
            assert f"| SSE decoding, {workload}, ours ({contender}), events/s |" in report


def test_without_a_match_nothing_runs(bench: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["no-such-benchmark"]) == 2
    assert "no benchmark matches" in capsys.readouterr().out


def summary_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ")]


def test_the_development_page_quotes_the_summary_of_benchmarks_md_as_it_is(bench: Any) -> None:
    report = (ROOT / "BENCHMARKS.md").read_text()
    assert "a --quick smoke run" not in report, "BENCHMARKS.md holds a full run"
    summary = report.split("## Summary", 1)[1].split("\n## ", 1)[0]
    page = bench.SUMMARY_PAGE.read_text()
    block = re.search(re.escape(bench.SUMMARY_START) + "(.*?)" + re.escape(bench.SUMMARY_END), page, re.S)
    assert block is not None, "docs/development.md has the benchmark block"
    assert summary_rows(block.group(1)) == summary_rows(summary)
    assert summary_rows(summary), "the summary is not empty"
