"""The fake models: deterministic chat text, a served video, echo, fail, unknown models."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from inference_api_mock.models import ECHO, FAIL, IMAGE_TO_VIDEO, LLAMA, MAX_PIECES, MISTRAL, chat_pieces, find_by_ref
from inference_api_mock.testing import MockServer
from tests.server.conftest import assert_documented, create, version_of, wait_final


def run(client: httpx.Client, model: str, values: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/run", json={"model": model, "input": values})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


@pytest.mark.parametrize("model", [LLAMA, MISTRAL])
def test_chat_models_write_deterministic_text_from_the_prompt(client: httpx.Client, model: str) -> None:
    first = run(client, model, {"prompt": "Plan a day in San Francisco", "max_new_tokens": 60})
    second = run(client, model, {"prompt": "Plan a day in San Francisco", "max_new_tokens": 60})
    other = run(client, model, {"prompt": "Write a poem about steamed hams", "max_new_tokens": 60})
    assert first["output"] == second["output"]
    assert first["output"] != other["output"]
    pieces = first["output"]
    assert isinstance(pieces, list) and all(isinstance(piece, str) for piece in pieces)
    assert "San" in "".join(pieces)  # derived from the prompt


@pytest.mark.parametrize("max_new_tokens", [1, 5, 40])
def test_chat_models_honour_max_new_tokens(client: httpx.Client, max_new_tokens: int) -> None:
    data = run(client, LLAMA, {"prompt": "count", "max_new_tokens": max_new_tokens})
    assert isinstance(data["output"], list) and len(data["output"]) == max_new_tokens


def test_chat_pieces_contain_spaces_line_breaks_and_non_ascii() -> None:
    text_pieces = [piece for prompt in ("a", "b", "c", "d") for piece in chat_pieces(prompt, 200)]
    assert any(piece.startswith(" ") for piece in text_pieces)
    assert any("\n" in piece and piece.strip() for piece in text_pieces)  # a break inside a piece
    assert any(not piece.isascii() for piece in chat_pieces("x", 5))  # even a short answer


def test_image_to_video_outputs_a_video_the_server_serves(server: MockServer, client: httpx.Client) -> None:
    values = {"image": "https://example.com/statue.jpg", "prompt": "statues talking", "num_inference_steps": 20}
    data = run(client, IMAGE_TO_VIDEO, values)
    assert data["status"] == "succeeded"
    url = data["output"]
    assert isinstance(url, str) and url.startswith(f"{server.base_url}/files/") and url.endswith(".mp4")
    assert "Denoising step 20/20" in str(data["logs"])
    video = httpx.get(url)  # no token: a file URL works on its own, like a CDN link
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp" and b"moov" in video.content
    assert httpx.get(f"{server.base_url}/files/nothing.mp4").status_code == 404


def test_echo_outputs_its_input_unchanged(client: httpx.Client) -> None:
    values = {"text": "héllo\nworld", "n": [1, 2.5, None, True], "nested": {"k": "v"}}
    assert run(client, ECHO, values)["output"] == values


def test_fail_always_fails(client: httpx.Client) -> None:
    final = wait_final(client, create(client, FAIL, {"anything": 1})["id"])
    assert final["status"] == "failed" and final["error"]


def test_unknown_version_is_404_with_a_clear_detail(client: httpx.Client) -> None:
    # openapi.yaml (A13 in docs/design.md): any well-formed version may be sent; one the service
    # does not have is not found, like an unknown prediction id.
    response = client.post("/v1/predictions", json={"version": "0" * 64, "input": {}})
    assert response.status_code == 404
    assert_documented("ErrorResponse", response.json())
    detail = response.json()["detail"]
    assert "Unknown model version" in detail and LLAMA in detail


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("someone/else:" + "0" * 64, "Unknown model 'someone/else'"),
        ("meta/llama-2-7b-chat:" + "0" * 64, "has no version"),
    ],
)
def test_unknown_model_or_version_in_run_is_404(client: httpx.Client, model: str, expected: str) -> None:
    for path in ("/v1/run", "/v1/run_sse"):
        response = client.post(path, json={"model": model, "input": {"prompt": "x"}})
        assert response.status_code == 404
        assert_documented("ErrorResponse", response.json())
        assert expected in response.json()["detail"]


def test_guide_models_check_their_input_against_the_spec(client: httpx.Client) -> None:
    response = client.post("/v1/run", json={"model": LLAMA, "input": {"prompt": 3, "unknown": True}})
    assert response.status_code == 422
    locs = {tuple(issue["loc"]) for issue in response.json()["detail"]}
    assert locs == {("body", "input", "prompt"), ("body", "input", "unknown")}
    response = client.post("/v1/predictions", json={"version": version_of(IMAGE_TO_VIDEO), "input": {"prompt": "p"}})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "input", "image"]


def test_find_by_ref_explains_what_is_wrong() -> None:
    assert find_by_ref(LLAMA)[0] is not None
    assert find_by_ref("no-colon")[0] is None


def test_chat_output_is_capped_even_when_min_new_tokens_is_huge() -> None:
    assert len(chat_pieces("p", max_new_tokens=10**12, min_new_tokens=10**12)) == MAX_PIECES
