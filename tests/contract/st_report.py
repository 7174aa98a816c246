"""Running the plain `st run` command and reading its NDJSON report.

    result = run_st(base_url, token, seed=1, max_examples=100, workdir=tmp_path)
    result.report.failures        # {(check code, "METHOD /path"): count}
    result.report.positive_share("POST /v1/run")   # (reached 2xx, positive cases)

`st` runs exactly as a user would type it (docs/development.md, "Contract tests"): default configuration (the
working directory holds no schemathesis.toml), every check, every phase including stateful, one
worker (`-w 2` crashes on CPython 3.11.7).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parents[2]
ST = Path(sys.executable).parent / "st"
# Operations whose bodies schemathesis generates: the share of positive ones reaching 2xx.
BODY_OPERATIONS = ("POST /v1/predictions", "POST /v1/run", "POST /v1/run_sse")


@attrs.frozen
class Report:
    """What one `st run` sent and got, from its NDJSON report."""

    statuses: Counter[tuple[str, str, int]]  # (phase, "METHOD /path", status) -> cases
    positive: Counter[str]  # "METHOD /path" -> positive cases
    positive_2xx: Counter[str]  # "METHOD /path" -> positive cases answered 2xx
    failures: Counter[tuple[str, str]]  # (check code, "METHOD /path") -> failed checks

    @classmethod
    def read(cls, path: Path) -> Report:
        statuses: Counter[tuple[str, str, int]] = Counter()
        positive: Counter[str] = Counter()
        positive_2xx: Counter[str] = Counter()
        failures: Counter[tuple[str, str]] = Counter()
        for line in path.read_text(encoding="utf-8").splitlines():
            scenario = json.loads(line).get("ScenarioFinished")
            recorder: dict[str, Any] = scenario["recorder"] if scenario else {}
            for case_id, interaction in recorder.get("interactions", {}).items():
                case = recorder["cases"][case_id]["value"]
                label = f"{case['method']} {case['path']}"
                meta = case.get("meta") or {}
                status = interaction["response"]["status_code"] if interaction.get("response") else 0
                statuses[(meta.get("phase", {}).get("name", "?"), label, status)] += 1
                if meta.get("generation", {}).get("mode") == "positive":
                    positive[label] += 1
                    positive_2xx[label] += 200 <= status < 300
            for case_id, checks in recorder.get("checks", {}).items():
                case = recorder["cases"][case_id]["value"]
                for check in checks:
                    if check["status"] == "failure":
                        code = check["failure_info"]["failure"]["code"]
                        failures[(code, f"{case['method']} {case['path']}")] += 1
        return cls(statuses, positive, positive_2xx, failures)

    @property
    def cases(self) -> int:
        return sum(self.statuses.values())

    def in_phase(self, phase: str) -> Counter[tuple[str, int]]:
        return Counter({(label, status): n for (name, label, status), n in self.statuses.items() if name == phase})

    def answered_2xx(self, label: str, phase: str | None = None) -> int:
        return sum(
            n
            for (name, seen, status), n in self.statuses.items()
            if seen == label and 200 <= status < 300 and phase in (None, name)
        )

    def positive_share(self, label: str) -> tuple[int, int]:
        return self.positive_2xx[label], self.positive[label]

    def summary(self) -> str:
        shares = ", ".join(
            f"{label} {reached}/{total} ({reached / max(total, 1):.0%})"
            for label in BODY_OPERATIONS
            for reached, total in [self.positive_share(label)]
        )
        return f"{self.cases} cases; positive bodies reaching 2xx: {shares}; failures: {dict(self.failures) or 'none'}"


@attrs.frozen
class StRun:
    command: list[str]
    returncode: int
    output: str
    report: Report


def st_command(base_url: str, token: str, *, seed: int, max_examples: int, ndjson: Path) -> list[str]:
    return [
        str(ST), "run", str(ROOT / "openapi.yaml"),
        "--url", base_url,
        "-H", f"Authorization: Bearer {token}",
        "--checks", "all",
        "--max-examples", str(max_examples),
        "--seed", str(seed),
        "--report", "ndjson", "--report-ndjson-path", str(ndjson),
        "--no-color",
    ]  # fmt: skip


def run_st(base_url: str, token: str, *, seed: int, max_examples: int, workdir: Path) -> StRun:
    ndjson = workdir / f"st-seed-{seed}.ndjson"
    command = st_command(base_url, token, seed=seed, max_examples=max_examples, ndjson=ndjson)
    # The working directory has no schemathesis.toml: st runs with its default configuration.
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600)
    return StRun(command, result.returncode, result.stdout + result.stderr, Report.read(ndjson))
