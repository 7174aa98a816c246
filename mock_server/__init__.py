"""A stateful local server that implements openapi.yaml with fake models."""
