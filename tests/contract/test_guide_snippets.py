"""The guide's own request snippets (plain `requests`), run as written against the mock server.

Only the URL (the host, and the example prediction ids, which must name a prediction that exists)
and the token placeholder change; each snippet's answer is then checked against what the guide
and the spec document.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from inference_api_mock.models import IMAGE_TO_VIDEO, LLAMA, MISTRAL
from inference_api_mock.spec import load_spec
from inference_api_mock.testing import MockServer
from tests.guide import guide_snippets

HOSTED = "https://fqpedg8vi2.ap-northeast-1.awsapprunner.com"
PLACEHOLDER = "<paste-your-token-here>"
TOKEN = "guide-token"
GET_ID = "ujebapbbulzpx25442efjv4qba"
CANCEL_ID = "eoyokbzbm3yfdhpspr5xak24ye"


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(tokens=(TOKEN,), speed=500.0) as running:
        yield running


def run_snippet(snippet: str, server: MockServer, prediction_id: str | None = None) -> tuple[requests.Response, str]:
    """Run one snippet as written but for URL and token; its response and what it printed."""
    assert snippet.count(HOSTED) == 1
    source = snippet.replace(HOSTED, server.base_url).replace(PLACEHOLDER, TOKEN)
    if prediction_id is not None:
        source = source.replace(GET_ID, prediction_id).replace(CANCEL_ID, prediction_id)
    printed = io.StringIO()
    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(printed):
        exec(compile(source, "<guide snippet>", "exec"), namespace)  # the guide's own code, as written
    response = namespace["response"]
    assert isinstance(response, requests.Response)
    return response, printed.getvalue()


def documented(body: Any, component: str) -> Any:
    assert load_spec().check_component(component, body) == []
    return body


def test_guide_snippets_get_the_documented_answers(server: MockServer) -> None:
    create, get, cancel, run, run_sse = guide_snippets()

    response, printed = run_snippet(create, server)
    assert response.status_code == 201
    created = documented(json.loads(printed), "PredictionResponse")["data"]
    assert created["version"] == IMAGE_TO_VIDEO.split(":")[1]
    assert created["status"] == "starting"
    assert response.headers["Location"] == created["urls"]["get"]

    response, printed = run_snippet(get, server, prediction_id=created["id"])
    assert response.status_code == 200
    fetched = documented(json.loads(printed), "PredictionResponse")["data"]
    assert fetched["id"] == created["id"] and fetched["input"] == created["input"]

    # The guide's cancel example sends no token; every request must carry one (docs/design.md, A16).
    response, printed = run_snippet(cancel, server, prediction_id=created["id"])
    assert response.status_code == 401
    assert "token" in documented(json.loads(printed), "ErrorResponse")["detail"].lower()
    assert cancel.count(PLACEHOLDER) == 0

    response, printed = run_snippet(run, server)
    assert response.status_code == 200
    result = documented(json.loads(printed), "PredictionResponse")["data"]
    assert result["status"] == "succeeded" and result["version"] == MISTRAL.split(":")[1]
    assert result["output"] and all(isinstance(piece, str) for piece in result["output"])

    response, printed = run_snippet(run_sse, server)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    blocks = [block for block in printed.strip().split("\n\n") if block]
    assert all("\nid: " in f"\n{block}" for block in blocks)
    assert blocks[-1].splitlines()[-2:] == ["event: done", "data: {}"]
    assert any("event: output" in block for block in blocks)
    assert LLAMA.split(":")[0] in printed  # the boot log names the model
