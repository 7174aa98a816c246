"""The SDK as a user gets it: the sdist and the wheel built as a release would build them, their
metadata checked, and the wheel installed (with the `server` extra) into a fresh virtual environment,
used from a project of the user's own that has `extensions.py`, `mock_server.py` and
`generated_client.py` files, none of which may be imported in place of ours.

Built once per session: `python -m build` makes the sdist, then the wheel from the sdist (so a
file missing from the sdist shows up as one missing from the wheel). Needs the package index, as any
install does (hatchling for the build, the dependencies for the venv; pip's cache makes reruns fast).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml
from packaging.metadata import Metadata

ROOT = Path(__file__).resolve().parents[1]
VERSION_SOURCE = (ROOT / "extensions" / "inference_api" / "_version.py").read_text()
VERSION = re.findall(r'^__version__ = "([^"]+)"$', VERSION_SOURCE, flags=re.MULTILINE)[0]  # the one place it is written
PACKAGES = {
    "inference_api": "extensions",
    "inference_api_client": "generated_client",
    "inference_api_mock": "mock_server",
}
TOKEN = "user-token"
# The first test's set-up builds and installs (about 40 s on a quiet machine): room for a busy one.
pytestmark = pytest.mark.timeout(300)
# Variables of the test run that a user's shell would not have.
FOREIGN_ENVIRONMENT = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "MYPYPATH")

# The user's own modules, named like our source folders: importing any of them instead of ours fails loudly.
USER_MODULES = {
    "extensions.py": 'raise RuntimeError("the user\'s own extensions.py was imported")\n',
    "mock_server.py": 'raise RuntimeError("the user\'s own mock_server.py was imported")\n',
    "generated_client.py": "AuthenticatedClient = connect = run = Prediction = None  # the user's own names\n",
}

USER_SCRIPT = """
import json
import sys

import inference_api
import inference_api_client
import inference_api_mock
from inference_api import connect, run
from inference_api_mock.models import ECHO
from inference_api_mock.testing import MockServer

with connect(token="user-token", base_url=sys.argv[1]) as client:
    prediction = run(client, ECHO, {"greeting": "hello"})
with MockServer() as server, connect(token=server.token, base_url=server.base_url) as client:
    in_process = run(client, ECHO, {"n": 1})
print(json.dumps({
    "status": prediction.status,
    "output": prediction.output,
    "in_process": in_process.output,
    "files": [module.__file__ for module in (inference_api, inference_api_client, inference_api_mock)],
}))
"""

TYPED_SCRIPT = """
from inference_api import connect, run
from inference_api_mock.models import ECHO

with connect(token="user-token", base_url="http://127.0.0.1:1") as client:
    reveal_type(run(client, ECHO, {"greeting": "hello"}))
"""


def user_environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in FOREIGN_ENVIRONMENT}


def run(*command: str | Path, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=user_environment(),
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist, and the wheel built from it."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, ROOT, cwd=ROOT, timeout=300)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}


@pytest.fixture(scope="module")
def venv_python(dists: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel and its `server` extra installed."""
    venv = tmp_path_factory.mktemp("user-venv")
    run(sys.executable, "-m", "venv", venv, cwd=venv, timeout=120)
    python = venv / "bin" / "python"
    install = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"{dists['wheel']}[server]"]
    run(python, *install, cwd=venv, timeout=300)
    return python


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project folder, with modules of its own named like our source folders."""
    for name, source in USER_MODULES.items():
        (tmp_path / name).write_text(source)
    return tmp_path


@contextmanager
def installed_mock(python: Path, cwd: Path) -> Iterator[str]:
    """`python -m inference_api_mock` of the installed wheel; its base URL (its first stdout line)."""
    command = [str(python), "-m", "inference_api_mock", "--port", "0", "--token", TOKEN, "--speed", "500"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=user_environment()
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline().strip()  # printed once it accepts connections
        assert first_line.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else ""
        yield first_line
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def metadata(raw: bytes) -> Metadata:
    """Core metadata parsed and validated by `packaging` (what `twine check` does since twine 6):
    any invalid or misspelled field, version or requirement raises."""
    return Metadata.from_email(raw, validate=True)


def test_the_metadata_of_the_wheel_and_the_sdist_is_complete_and_valid(dists: dict[str, Path]) -> None:
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        wheel_metadata = wheel.read(f"inference_api-{VERSION}.dist-info/METADATA")
        entry_points = wheel.read(f"inference_api-{VERSION}.dist-info/entry_points.txt").decode()
    with tarfile.open(dists["sdist"]) as sdist:
        member = sdist.extractfile(f"inference_api-{VERSION}/PKG-INFO")
        assert member is not None
        sdist_metadata = member.read()
    for raw in (wheel_metadata, sdist_metadata):
        found = metadata(raw)
        assert found.name == "inference-api" and str(found.version) == VERSION
        assert found.summary and found.license_expression == "MIT" and str(found.requires_python) == ">=3.11"
        # The index shows the README as the project's page: all of it, rendered as Markdown.
        assert found.description_content_type == "text/markdown"
        assert found.description == (ROOT / "README.md").read_text()
        assert found.classifiers and "Typing :: Typed" in found.classifiers
        assert {"cli", "fast", "server", "ray", "dev"} <= set(found.provides_extra or [])
        assert {str(requirement.name) for requirement in found.requires_dist or []} >= {"httpx", "attrs", "anyio"}
    assert "inference-api = inference_api.cli:main" in entry_points


def test_the_wheel_holds_exactly_our_three_packages_and_all_their_files(dists: dict[str, Path]) -> None:
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = wheel.namelist()
    assert {name.split("/")[0] for name in names} == {*PACKAGES, f"inference_api-{VERSION}.dist-info"}
    for package, source_root in PACKAGES.items():
        in_checkout = {
            path.relative_to(ROOT / source_root).as_posix()
            for path in (ROOT / source_root / package).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        }
        in_wheel = {name for name in names if name.startswith(f"{package}/")}
        assert in_checkout and in_checkout <= in_wheel, in_checkout - in_wheel
        assert f"{package}/py.typed" in in_wheel
    assert "inference_api_mock/openapi.yaml" in names  # the mock validates against it, and serves /docs from it
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_the_sdist_holds_what_a_build_needs_and_nothing_else(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as sdist:
        names = [name.split("/", 1)[1] for name in sdist.getnames() if "/" in name]
    top = {name.split("/")[0] for name in names} - {".gitignore"}  # hatchling adds it, harmless
    assert top == {*PACKAGES.values(), "openapi.yaml", "README.md", "pyproject.toml", "PKG-INFO"}
    for package, source_root in PACKAGES.items():
        assert {name.split("/")[1] for name in names if name.startswith(f"{source_root}/")} == {package}
    unwanted = ("node_modules", ".venv", "build", "tests", "__pycache__", "dist")
    assert not [name for name in names if set(name.split("/")) & set(unwanted) or name.endswith(".pyc")]


def test_a_users_project_runs_a_prediction_against_the_installed_mock(venv_python: Path, project: Path) -> None:
    (project / "run_it.py").write_text(USER_SCRIPT)
    site_packages = venv_python.parent.parent / "lib"
    with installed_mock(venv_python, project) as base_url:
        result = run(venv_python, "run_it.py", base_url, cwd=project, timeout=60)
        docs = httpx.get(f"{base_url}/docs", timeout=30)
        spec = httpx.get(f"{base_url}/openapi.yaml", timeout=30)
    report = json.loads(result.stdout)
    assert report["status"] == "succeeded"
    assert report["output"] == {"greeting": "hello"} and report["in_process"] == {"n": 1}
    for file in report["files"]:  # the installed copies, not the checkout's
        assert Path(file).is_relative_to(site_packages) and "site-packages" in Path(file).parts, file
    # /docs without a checkout: the reference rendered from the spec the wheel carries.
    assert spec.status_code == 200 and spec.text == (ROOT / "openapi.yaml").read_text()
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    for path, item in yaml.safe_load(spec.text)["paths"].items():
        for operation in item.values():
            if isinstance(operation, dict) and "operationId" in operation:
                assert f'id="operation-{operation["operationId"]}"' in docs.text, path


def test_the_installed_command_line_prints_the_metadata_version(venv_python: Path, project: Path) -> None:
    bin_dir = venv_python.parent
    probe = "import importlib.metadata, inference_api; print(importlib.metadata.version('inference-api'))"
    installed = run(venv_python, "-c", probe, cwd=project).stdout.strip()
    assert installed == VERSION
    assert run(bin_dir / "inference-api", "--version", cwd=project).stdout == f"inference-api {installed}\n"
    assert run(venv_python, "-m", "inference_api", "--version", cwd=project).stdout == f"inference-api {installed}\n"
    assert run(venv_python, "-c", "import inference_api; print(inference_api.__version__)", cwd=project).stdout == (
        f"{installed}\n"
    )


def test_mypy_strict_sees_the_installed_packages_types(venv_python: Path, project: Path) -> None:
    (project / "typed.py").write_text(textwrap.dedent(TYPED_SCRIPT))
    # This test run's mypy, reading the packages installed in the user's environment.
    mypy = [sys.executable, "-m", "mypy", "--strict", "--python-executable", str(venv_python)]
    result = subprocess.run(
        [*mypy, "--cache-dir", str(project / ".mypy_cache"), "typed.py"],
        capture_output=True,
        text=True,
        cwd=project,
        timeout=120,
        env=user_environment(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'typed.py:6: note: Revealed type is "inference_api_client.models.prediction.Prediction"' in result.stdout
