"""Per-call options live on the client (`with_options`), never among a call's keyword arguments: a request
field the spec gains named `timeout` or `retries` regenerates and reaches the wire beside them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.spec.copies import change_spec, regenerate, repository_copy, run_python

VERSION = "f1d50bb24186c52daae319ca8366e53debdaa9e0ae7ff976e918df752732ccc4"
STREAM_FIELD = "\n        stream:\n          type: boolean\n"
ADD_FIELDS = """
        timeout:
          type: integer
          minimum: 1
          description: Seconds the model may run.
        retries:
          type: integer
          minimum: 0
          description: How often the service retries the model."""

SCRIPT = f"""
import json
from inference_api import connect, create
from inference_api.cli import main
from tests.extensions.calls_support import prediction_json
from tests.recording_server import RecordingServer
with RecordingServer(201, {{"data": prediction_json()}}) as server:
    with connect("token-for-options", server.base_url) as client:
        create(client.with_options(timeout=30, retries=0), {VERSION!r}, {{"prompt": "hi"}}, timeout=7, retries=2)
    main(["--token", "token-for-options", "--base-url", server.base_url,
          "create", {VERSION!r}, "-i", "prompt=hi", "--body-timeout", "7", "--retries", "2"])
    print("BODIES", json.dumps([json.loads(request.body) for request in server.requests]))
"""


def test_request_fields_named_like_per_call_options_regenerate_and_work(tmp_path: Path) -> None:
    root = repository_copy(tmp_path)
    change_spec(root, STREAM_FIELD, ADD_FIELDS + STREAM_FIELD)
    regenerate(root)

    result = run_python(root, SCRIPT)
    assert result.returncode == 0, result.stdout + result.stderr
    bodies = json.loads(result.stdout.split("BODIES ", 1)[1])
    assert [(body.get("timeout"), body.get("retries")) for body in bodies] == [(7, 2), (7, 2)], bodies
