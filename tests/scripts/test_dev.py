"""scripts/dev explains itself: too old a Python, a .venv made by another one, an unreachable index."""

from __future__ import annotations

import ast
import platform
import re
import socket
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.script_module import load_script

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "scripts" / "dev"


@pytest.fixture
def dev() -> Any:
    return load_script(DEV)


def one_line(error: SystemExit) -> str:
    message = str(error.code)
    assert "\n" not in message, message
    return message


# Python version.


def test_an_old_python_gets_one_line_naming_the_minimum_and_how_to_choose_another(
    dev: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["scripts/dev", "test"])
    with pytest.raises(SystemExit) as caught:
        dev.check_python((3, 10, 12), "/usr/bin/python3.10")
    message = one_line(caught.value)
    assert "Python 3.11 or newer, not 3.10.12 (/usr/bin/python3.10)" in message
    assert "`python3.11 scripts/dev test`" in message
    dev.check_python((3, 11, 0), "/usr/bin/python3.11")
    dev.check_python((3, 13, 1), "/usr/bin/python3.13")


def test_the_check_comes_before_anything_an_old_python_cannot_run(dev: Any) -> None:
    source = DEV.read_text()
    ast.parse(source, feature_version=(3, 7))  # the syntax of Python 3.7 reaches the check
    main = next(node for node in ast.parse(source).body if isinstance(node, ast.FunctionDef) and node.name == "main")
    assert ast.unparse(main.body[0]) == "check_python()"


def test_the_minimum_is_the_projects_requires_python(dev: Any) -> None:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=" + ".".join(map(str, dev.MINIMUM_PYTHON))


# A .venv made by another Python.


def fake_venv(folder: Path, **values: str) -> Path:
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").write_text("")
    (folder / "pyvenv.cfg").write_text("".join(f"{key} = {value}\n" for key, value in values.items()))
    return folder


def test_a_venv_of_another_python_is_recognised(dev: Any, tmp_path: Path) -> None:
    base = getattr(sys, "_base_executable", sys.executable)
    ours = fake_venv(tmp_path / "ours", home=str(Path(base).parent), version=platform.python_version(), executable=base)
    assert dev.venv_made_by_another_python(ours) is None
    older = fake_venv(tmp_path / "older", home="/usr/bin", version="3.10.12", executable="/usr/bin/python3.10")
    assert dev.venv_made_by_another_python(older) == "Python 3.10.12 (/usr/bin/python3.10)"
    same_version = fake_venv(
        tmp_path / "elsewhere", version=platform.python_version(), executable="/opt/other/bin/python3"
    )
    assert "/opt/other/bin/python3" in dev.venv_made_by_another_python(same_version)


def test_setup_rebuilds_a_venv_that_another_python_made(
    dev: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = fake_venv(tmp_path / ".venv", home="/usr/bin", version="3.10.12", executable="/usr/bin/python3.10")
    (stale / "left-over").write_text("a failed 3.10 install")
    created: list[Path] = []

    def create(folder: Path, with_pip: bool) -> None:
        created.append(folder)
        fake_venv(folder, version=platform.python_version(), executable=getattr(sys, "_base_executable", ""))

    monkeypatch.setattr(dev.venv, "create", create)
    dev.create_venv(stale)
    assert created == [stale]
    assert not (stale / "left-over").exists()
    out = capsys.readouterr().out
    assert out.startswith("rebuilding .venv: Python 3.10.12 (/usr/bin/python3.10) made it, this is Python 3.")
    dev.create_venv(stale)  # now made by this Python: kept
    assert created == [stale]


def test_a_folder_that_is_not_a_venv_is_left_alone(dev: Any, tmp_path: Path) -> None:
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "mine.txt").write_text("keep")
    with pytest.raises(SystemExit) as caught:
        dev.create_venv(tmp_path / ".venv")
    assert "not a virtual environment" in one_line(caught.value)
    assert (tmp_path / ".venv" / "mine.txt").read_text() == "keep"


# pip and an unreachable index (a real pip, against a port nobody listens on).


def isolated_pip(monkeypatch: pytest.MonkeyPatch, index: str, retries: str = "0") -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")  # no pip.conf: only this index
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.setenv("PIP_RETRIES", retries)
    monkeypatch.setenv("PIP_TIMEOUT", "5")
    for variable in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX"):
        monkeypatch.delenv(variable, raising=False)


NOT_INSTALLED = ("--dry-run", "--ignore-installed", "--no-deps", "inference-api-no-such-package==1.0")


# With retries pip prints the connection error itself; without, it only finds nothing.
@pytest.mark.parametrize("retries", ["0", "1"])
def test_pip_without_its_index_says_so_in_one_line(dev: Any, monkeypatch: pytest.MonkeyPatch, retries: str) -> None:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        index = f"http://127.0.0.1:{sock.getsockname()[1]}/simple"
        isolated_pip(monkeypatch, index, retries)
        with pytest.raises(SystemExit) as caught:
            dev.pip_install(Path(sys.executable), *NOT_INSTALLED)
    message = one_line(caught.value)
    assert message.startswith(f"scripts/dev: pip cannot reach the package index {index}:")
    assert "PIP_INDEX_URL" in message


def test_other_pip_failures_show_pips_own_words(
    dev: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "simple").mkdir()  # an index that is there, and empty
    isolated_pip(monkeypatch, (tmp_path / "simple").as_uri())
    with pytest.raises(SystemExit) as caught:
        dev.pip_install(Path(sys.executable), *NOT_INSTALLED)
    assert caught.value.code != 0
    err = capsys.readouterr().err
    assert re.search(r"No matching distribution found for inference-api-no-such-package", err)
    assert "cannot reach" not in err


# The command: an unknown one is named; `test` finds Node.js, npm and Chromium before anything long.


def test_an_unknown_command_is_named_and_the_usage_follows() -> None:
    result = subprocess.run([sys.executable, str(DEV), "tset"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    first, *usage = result.stderr.splitlines()
    assert first == "scripts/dev: unknown command 'tset'"
    assert any(line.strip().startswith("python3 scripts/dev test") for line in usage), result.stderr
    helped = subprocess.run([sys.executable, str(DEV), "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "python3 scripts/dev test" in helped.stdout and helped.stderr == ""


def fake_tool(folder: Path, name: str, prints: str = "") -> Path:
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text(f"#!/bin/sh\necho '{prints}'\n")
    tool.chmod(0o755)
    return tool


@pytest.fixture
def nothing_long(dev: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What main() started after its checks: setup, node_modules, the test run (recorded, not done)."""
    started: list[str] = []
    monkeypatch.setattr(dev, "setup", lambda: started.append("setup"))
    monkeypatch.setattr(dev, "setup_node", lambda: started.append("setup_node"))
    monkeypatch.setattr(dev, "test", lambda args: started.append("test"))
    monkeypatch.delenv("CHROMIUM", raising=False)
    monkeypatch.setattr(sys, "argv", ["scripts/dev", "test"])
    return started


def test_test_without_node_npm_or_chromium_stops_at_once_in_one_line(
    dev: Any, nothing_long: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SystemExit) as caught:
        dev.main()
    message = one_line(caught.value)
    assert message.startswith("scripts/dev test needs Node.js with npm and Chromium")
    assert "Node.js 20+ (no node on PATH)" in message and "npm (no npm on PATH)" in message
    assert "Chromium (apt-get install chromium, or set CHROMIUM" in message
    assert nothing_long == [], "nothing started before the check"


def test_an_old_node_or_a_missing_browser_is_named_alone(
    dev: Any, nothing_long: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tools = tmp_path / "bin"
    node = fake_tool(tools, "node", "v18.19.0")
    fake_tool(tools, "npm")
    monkeypatch.setenv("PATH", str(tools))
    assert dev.missing_tools("test") == [f"Node.js 20+ ({node} is v18.19.0)", f"Chromium ({dev.CHROMIUM_HINT})"]
    assert dev.missing_tools("docs") == [f"Node.js 20+ ({node} is v18.19.0)"], "docs needs no browser"
    assert dev.missing_tools("demo") == [], "the demo needs neither"
    fake_tool(tools, "node", "v20.11.1")
    assert dev.missing_tools("docs") == []
    with pytest.raises(SystemExit) as caught:
        dev.main()
    assert one_line(caught.value).endswith(f"not found: Chromium ({dev.CHROMIUM_HINT})")
    assert nothing_long == []


def test_with_every_tool_found_test_goes_on(
    dev: Any, nothing_long: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tools = tmp_path / "bin"
    fake_tool(tools, "node", "v22.1.0")
    fake_tool(tools, "npm")
    monkeypatch.setenv("PATH", str(tools))
    browser = fake_tool(tmp_path / "elsewhere", "chrome")
    monkeypatch.setenv("CHROMIUM", str(browser))  # as the browser test reads it
    assert dev.find_chromium() == str(browser)
    dev.main()
    assert nothing_long == ["setup", "setup_node", "test"]
