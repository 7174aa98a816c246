"""Batches: one model over many inputs, with bounded concurrency, rate limits, checkpoint and resume.

- `_core`: the pure decisions (concurrency limits, results-file records, ordering);
- `_engine`: the asyncio engine around them, `batch` and `async_batch` (see its docstring);
- `ray`: the same batch fanned out over Ray worker processes (the `ray` extra).
"""

from ._engine import (
    AsyncBatch,
    Batch,
    BatchResult,
    BatchStats,
    InvalidResultsFile,
    ResultsMismatch,
    ResultsWriteError,
    async_batch,
    batch,
    count_lines,
)

__all__ = [
    "AsyncBatch",
    "Batch",
    "BatchResult",
    "BatchStats",
    "InvalidResultsFile",
    "ResultsMismatch",
    "ResultsWriteError",
    "async_batch",
    "batch",
    "count_lines",
]
