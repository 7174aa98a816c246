"""Model refs checked before a request: the guide's formats, and the guide's models kept to their versions. Pure.

    check_model_ref("meta/llama-2-7b-chat:f1d5...cc4")   # run, stream: `owner/name:version`
    version_of("f1d5...cc4")                              # create: a version, or a full ref's version

The API reads only the version on create: `create(c, "mistralai/mistral-7b-instruct-v0.1:<llama's
version>")` would run llama, silently, where run and stream answer 404 for the same ref. So a ref
that names one of the guide's models with another version (or one of their versions under another
name) is refused before sending.
"""

from __future__ import annotations

import re

from ._security import excerpt

__all__ = ["GUIDE_MODELS", "check_model_ref", "version_of"]

# openapi.yaml: RunRequest.model's pattern, CreatePredictionRequest.version's.
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*:[0-9a-f]{64}")
_VERSION = re.compile(r"[0-9a-f]{64}")

# The guide's three models, by name: openapi.yaml's RunRequest `allOf` (a test checks they agree).
GUIDE_MODELS = {
    "ali-vilab/i2vgen-xl": "5821a338d00033abaaba89080a17eb8783d9a17ed710a6b4246a18e0900ccad4",
    "mistralai/mistral-7b-instruct-v0.1": "5fe0a3d7ac2852264a25279d1dfb798acbc4d49711d126646594e212cb821749",
    "meta/llama-2-7b-chat": "f1d50bb24186c52daae319ca8366e53debdaa9e0ae7ff976e918df752732ccc4",
}
_GUIDE_NAMES = {version: name for name, version in GUIDE_MODELS.items()}


def _shown(value: str) -> str:
    return repr(excerpt(value, 100, ()))


def check_model_ref(model: object) -> str:
    """`model` when it is an `owner/name:version` ref (64 lowercase hex digits) that does not pair
    one of the guide's models with another version; TypeError or ValueError otherwise."""
    if not isinstance(model, str):
        raise TypeError(f"a model is an 'owner/name:version' string, not {type(model).__name__}")
    if not _REF.fullmatch(model):
        raise ValueError(f"not a model ref: {_shown(model)} (expected 'owner/name:version', the version 64 hex digits)")
    name, _, version = model.rpartition(":")
    known_version = GUIDE_MODELS.get(name)
    known_name = _GUIDE_NAMES.get(version)
    if (known_version is not None and known_version != version) or (known_name is not None and known_name != name):
        expected = f"{name}:{known_version}" if known_version is not None else f"{known_name}:{version}"
        raise ValueError(f"{_shown(model)} pairs a model with another model's version: did you mean {expected!r}?")
    return model


def version_of(version_or_ref: object) -> str:
    """The version to create a prediction of: `version_or_ref` itself (64 lowercase hex digits), or
    the version of an `owner/name:version` ref checked as `check_model_ref` checks it."""
    if not isinstance(version_or_ref, str):
        raise TypeError(f"a model version is a string, not {type(version_or_ref).__name__}")
    if _VERSION.fullmatch(version_or_ref):
        return version_or_ref
    if ":" in version_or_ref:
        return check_model_ref(version_or_ref).rpartition(":")[2]
    raise ValueError(f"not a model version: {_shown(version_or_ref)} (expected 64 hex digits, or 'owner/name:version')")
