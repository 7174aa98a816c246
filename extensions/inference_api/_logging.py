"""The debug switch: `INFERENCE_API_LOG=debug` (or `info`) prints the SDK's log to stderr.

    INFERENCE_API_LOG=debug python my_script.py      # every request: method, URL, status, time, attempt
    INFERENCE_API_LOG=info  python my_script.py      # retries, reconnections and waits only

Off by default. The records are the `inference_api` loggers' (`inference_api`, `.streaming`,
`.waiting`, `.batch`), with the token taken out; an application that configures logging itself
can use those loggers instead and leave the variable unset.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

from ._security import redacting_filter

__all__ = ["LOG_ENV", "configure_from_environment", "enable"]

LOG_ENV = "INFERENCE_API_LOG"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_HANDLER_NAME = "inference_api.debug-switch"


def enable(level: int) -> None:
    """Print the SDK's log records at `level` and above to stderr (once, however often called)."""
    logger = logging.getLogger("inference_api")
    logger.setLevel(level)
    if any(handler.get_name() == _HANDLER_NAME for handler in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    # On the handler: a logger's own filters do not see its children's records.
    handler.addFilter(redacting_filter())
    logger.addHandler(handler)


def configure_from_environment() -> None:
    """Apply `INFERENCE_API_LOG` when it is set; an unknown value is a warning, not an error."""
    value = os.environ.get(LOG_ENV, "").strip().lower()
    if not value:
        return
    level = LEVELS.get(value)
    if level is None:
        warnings.warn(f"{LOG_ENV}={value!r} is not one of {', '.join(LEVELS)}: ignored", stacklevel=3)
        return
    enable(level)
