"""The SDK's version, as pyproject.toml gives it (a test checks that they agree).

A constant rather than `importlib.metadata.version()`: importing importlib.metadata took 14 ms,
a tenth of `import httpx`, for the User-Agent alone.
"""

__version__ = "0.1.0"
