"""RateLimit: a standing token bucket on one route, answering 429 with Retry-After beyond its rate."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest

from inference_api_mock import faults
from inference_api_mock.faults import FaultBook, RateLimit
from inference_api_mock.spec import load_spec
from inference_api_mock.testing import MockServer
from tests.server.conftest import create

CREATE = "POST /v1/predictions"


def test_requests_beyond_the_burst_get_429_with_the_wait_until_the_next_one(
    server: MockServer, client: httpx.Client
) -> None:
    server.rate_limit(CREATE, per_second=0.5, burst=3)  # one more every 2 s
    answers = [client.post("/v1/predictions", json={"version": "x", "input": {}}) for _ in range(5)]
    statuses = [answer.status_code for answer in answers]
    assert statuses[3:] == [429, 429] and 429 not in statuses[:3], "the burst passes, then 429"
    assert 0 < float(answers[3].headers["retry-after"]) <= 2.0
    assert answers[3].json() == {"detail": "Too Many Requests"}
    assert client.get("/v1/predictions/none").status_code == 404, "other routes are not limited"


def test_the_bucket_refills_at_its_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(faults, "time", SimpleNamespace(monotonic=lambda: now[0]))  # this module's clock only
    book = FaultBook(load_spec().route_templates())
    book.limit(RateLimit(route=CREATE, per_second=4.0, burst=2))
    assert [book.take("POST", "/v1/predictions") for _ in range(2)] == [None, None]
    refused = book.take("POST", "/v1/predictions")
    assert refused is not None and (refused.status, refused.retry_after) == (429, "0.250")
    now[0] += 0.25
    assert book.take("POST", "/v1/predictions") is None
    now[0] += 10
    after_a_pause = [book.take("POST", "/v1/predictions") for _ in range(3)]
    assert after_a_pause[:2] == [None, None] and after_a_pause[2] is not None, "never more than the burst"


def test_clear_faults_lifts_it_and_a_fixed_retry_after_is_sent_as_is(server: MockServer, client: httpx.Client) -> None:
    server.rate_limit(CREATE, per_second=0, retry_after="7")
    create(client)
    refused = client.post("/v1/predictions", json={"version": "x", "input": {}})
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "7")
    server.clear_faults()
    assert create(client)["status"] == "starting"


def test_a_bad_rate_limit_is_refused() -> None:
    book = FaultBook(load_spec().route_templates())
    with pytest.raises(ValueError, match="unknown route"):
        book.limit(RateLimit(route="GET /nowhere", per_second=1))
    for bad in ({"per_second": -1}, {"per_second": 1, "burst": 0}, {"per_second": "1"}):
        with pytest.raises((ValueError, TypeError)):
            RateLimit(route=CREATE, **bad)
