"""Per-call options live on the client (`with_options`), never among a call's keyword arguments: a request
field the spec gains named `timeout` or `retries` regenerates and reaches the wire beside them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSION = "f1d50bb24186c52daae319ca8366e53debdaa9e0ae7ff976e918df752732ccc4"
ADD_FIELDS = """
        timeout:
          type: integer
          minimum: 1
          description: Seconds the model may run.
        retries:
          type: integer
          minimum: 0
          description: How often the service retries the model.
"""


def test_request_fields_named_like_per_call_options_regenerate_and_work(tmp_path: Path) -> None:
    spec = (ROOT / "openapi.yaml").read_text()
    anchor = "\n        stream:\n          type: boolean\n"
    assert spec.count(anchor) == 1
    (tmp_path / "openapi.yaml").write_text(spec.replace(anchor, ADD_FIELDS.rstrip("\n") + anchor))
    package = tmp_path / "site" / "inference_api_client"
    shutil.copytree(ROOT / "generated_client" / "inference_api_client", package)
    regenerated = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "regenerate"), "--spec", str(tmp_path / "openapi.yaml"),
         "--target", str(package)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert regenerated.returncode == 0, regenerated.stdout + regenerated.stderr

    script = f"""
import json, inference_api_client
from inference_api import connect, create
from inference_api.cli import main
from tests.extensions.calls_support import prediction_json
from tests.recording_server import RecordingServer
assert inference_api_client.__file__.startswith({str(package)!r}), inference_api_client.__file__
with RecordingServer(201, {{"data": prediction_json()}}) as server:
    with connect("token-for-options", server.base_url) as client:
        create(client.with_options(timeout=30, retries=0), {VERSION!r}, {{"prompt": "hi"}}, timeout=7, retries=2)
    main(["--token", "token-for-options", "--base-url", server.base_url,
          "create", {VERSION!r}, "-i", "prompt=hi", "--body-timeout", "7", "--retries", "2"])
    print("BODIES", json.dumps([json.loads(request.body) for request in server.requests]))
"""
    environment = os.environ | {"PYTHONPATH": os.pathsep.join([str(package.parent), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-P", "-c", script], env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    bodies = json.loads(result.stdout.split("BODIES ", 1)[1])
    assert [(body.get("timeout"), body.get("retries")) for body in bodies] == [(7, 2), (7, 2)], bodies
