"""Bearer tokens: 401 without a valid one, and each token sees only its own predictions."""

from __future__ import annotations

import httpx
import pytest

from inference_api_mock.auth import INVALID_TOKEN, MISSING_TOKEN, TokenChecker
from inference_api_mock.models import ECHO
from inference_api_mock.testing import MockServer
from tests.server.conftest import OTHER_TOKEN, TOKEN, assert_documented, bearer, create, version_of

ROUTES = [
    ("POST", "/v1/predictions"),
    ("GET", "/v1/predictions/abc"),
    ("POST", "/v1/predictions/abc/cancel"),
    ("GET", "/v1/predictions/abc/stream"),
    ("POST", "/v1/run"),
    ("POST", "/v1/run_sse"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, MISSING_TOKEN),
        ({"Authorization": "Bearer"}, MISSING_TOKEN),
        ({"Authorization": f"Basic {TOKEN}"}, MISSING_TOKEN),
        ({"Authorization": "Bearer wrong-secret-value"}, INVALID_TOKEN),
        ({"Authorization": f"Bearer {TOKEN}x"}, INVALID_TOKEN),
    ],
)
def test_every_operation_needs_a_valid_token(
    server: MockServer, method: str, path: str, headers: dict[str, str], detail: str
) -> None:
    body = {"version": version_of(ECHO), "input": {}} if method == "POST" else None
    response = httpx.request(method, server.base_url + path, headers=headers, json=body)
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["www-authenticate"] == "Bearer"
    assert_documented("ErrorResponse", response.json())
    assert "wrong-secret-value" not in response.text


def test_another_tokens_prediction_is_not_found(server: MockServer, client: httpx.Client) -> None:
    mine = create(client)
    with httpx.Client(base_url=server.base_url, headers=bearer(OTHER_TOKEN)) as other:
        for method, path in [("GET", ""), ("POST", "/cancel"), ("GET", "/stream")]:
            response = other.request(method, f"/v1/predictions/{mine['id']}{path}")
            assert response.status_code == 404, (method, path)
            assert response.json() == {"detail": "Prediction not found."}
        theirs = other.post("/v1/predictions", json={"version": version_of(ECHO), "input": {}}).json()["data"]
    assert client.get(f"/v1/predictions/{theirs['id']}").status_code == 404
    assert client.get(f"/v1/predictions/{mine['id']}").json()["data"]["id"] == mine["id"]


def test_token_checker_matches_any_configured_token_and_hides_them() -> None:
    checker = TokenChecker(["one", "two"])
    owner_one, _ = checker.owner("Bearer one")
    owner_two, _ = checker.owner("bearer  two ")
    assert owner_one and owner_two and owner_one != owner_two
    assert checker.owner("Bearer three") == (None, INVALID_TOKEN)
    assert checker.owner(None) == (None, MISSING_TOKEN)
    assert "one" not in repr(checker) and "two" not in repr(checker)


def test_token_checker_refuses_empty_configuration() -> None:
    with pytest.raises(ValueError, match="at least one token"):
        TokenChecker([])
    with pytest.raises(ValueError, match="non-empty"):
        TokenChecker([""])
