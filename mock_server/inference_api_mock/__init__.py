"""A stateful local server that implements openapi.yaml with fake models.

Like stripe-mock, but stateful: predictions move through their statuses, streams send events,
webhooks are delivered (to this machine only), and tests can script faults.

- `python -m inference_api_mock --port 0 --token T` serves it (`inference_api_mock.__main__`);
- `inference_api_mock.app.create_app(tokens, ...)` is the ASGI app;
- `inference_api_mock.testing.MockServer` runs it in a background thread for tests;
- `inference_api_mock.pytest_plugin` has a `mock_server` fixture;
- `inference_api_mock.models` names the fake models (LLAMA, MISTRAL, IMAGE_TO_VIDEO, ECHO, FAIL).

Modules: `spec` (validators from openapi.yaml), `auth`, `models` (fake models' scripts),
`predictions` (state and lifecycle), `sse` (event encoding), `webhooks`, `faults` (fault plans
and the request log), `files` (the fake video), `reference` (the `/docs` page rendered from the
spec), `app`, `serving` (uvicorn), `testing`; `_extra` says which extra to install when a
dependency is missing.
"""
