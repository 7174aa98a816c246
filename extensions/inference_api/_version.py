"""The SDK's version, written here only: hatchling reads it into the package metadata at build
time (`[tool.hatch.version]` in pyproject.toml), and `inference-api --version` prints the metadata's.

A constant rather than `importlib.metadata.version()`: importing importlib.metadata took 14 ms,
a tenth of `import httpx`, for the User-Agent alone.
"""

__version__ = "0.1.0"
