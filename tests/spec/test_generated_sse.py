"""The generated client's event-stream decoder (templates/package/sse.py.jinja) on the conformance
cases the SDK's decoder passes: every case as chunked, one byte at a time and split at every offset."""

from __future__ import annotations

import pytest

from inference_api_client.sse import SSEDecoder, iter_events
from tests.sse.conformance_cases import CASES, Case


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case(case: Case) -> None:
    stream = b"".join(case.chunks)
    assert list(iter_events(case.chunks)) == list(case.expected), case.rule
    assert list(iter_events(stream[i : i + 1] for i in range(len(stream)))) == list(case.expected), case.rule
    for offset in range(len(stream) + 1):
        assert list(iter_events([stream[:offset], stream[offset:]])) == list(case.expected), f"at {offset}: {case.rule}"


def test_the_generated_decoder_bounds_a_line_and_an_event() -> None:
    from inference_api_client.sse import EventTooLarge

    with pytest.raises(EventTooLarge):
        SSEDecoder(max_size=10).feed(b"data: " + b"x" * 11)
    with pytest.raises(EventTooLarge):
        SSEDecoder(max_size=100).feed(b"data: x\n" * 50)  # each data line after the first counts 64 more


def test_the_generated_decoder_is_the_sdks_algorithm_line_for_line() -> None:
    # Two copies of one algorithm (templates/README.md says why); tests/sse/test_fuzz.py checks that
    # they agree on random streams, and this that neither changes without the other.
    import inspect

    import inference_api.sse
    import inference_api_client.sse

    for name in ("SSEDecoder", "_parse_retry", "iter_events", "aiter_events", "EventTooLarge"):
        generated = inspect.getsource(getattr(inference_api_client.sse, name))
        assert generated == inspect.getsource(getattr(inference_api.sse, name)), (
            f"{name} differs between templates/package/sse.py.jinja and extensions/inference_api/sse.py"
        )
    for constant in ("DEFAULT_MAX_EVENT_SIZE", "_DATA_LINE_COST", "_BOM"):
        assert getattr(inference_api_client.sse, constant) == getattr(inference_api.sse, constant)
    assert inference_api_client.sse.ServerSentEvent._fields == inference_api.sse.ServerSentEvent._fields
    assert tuple(inference_api_client.sse.ServerSentEvent()) == tuple(inference_api.sse.ServerSentEvent())
