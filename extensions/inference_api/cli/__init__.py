"""The `inference-api` command line.

    inference-api run MODEL -i prompt="Write a haiku" [-i max_new_tokens=64]
    inference-api stream MODEL -i prompt="Tell me a story"
    inference-api create VERSION -i image=@photo.jpg -i prompt="..." [--stream] [--wait]
    inference-api get ID
    inference-api cancel ID
    inference-api wait ID [--timeout S]
    inference-api download URL PATH          (PATH ending in / is a directory)
    inference-api batch MODEL INPUTS.jsonl --output RESULTS.jsonl [--concurrency N]

The token and base URL come from --token / --base-url or INFERENCE_API_TOKEN /
INFERENCE_API_BASE_URL. `-i key=value` values are JSON when they parse as JSON (numbers, true,
lists...), text otherwise; `-i key=@path` sends a local file (as a data URI). Every other field of
the request body has an option of its own, derived from the generated request models (`create
--help` lists them). Predictions print as JSON; a run's text output prints as text. On a
terminal, create --wait and wait show a live status line (status, elapsed time, last log line),
run its elapsed time (POST /v1/run says nothing before the model is done) and download a
progress bar, on stderr; piped, only the result is printed. Errors print one line to stderr.

exit codes:
  0    success
  1    API error, failed prediction (batch: an input that did not succeed), or a local file
       that cannot be read or written
  2    bad usage: arguments, inputs, ids, no token
  3    the prediction was canceled
  4    timed out: --timeout passed, or the API did not answer in time
  130  interrupted (Ctrl-C); create --wait cancels the prediction first and says so; batch
       records what it created, and the same command resumes (143 when stopped by SIGTERM)

Output piped into a command that stops reading (`| head`) ends the command quietly. --verbose
(or INFERENCE_API_LOG=debug) prints each request, retry and its timing to stderr, token redacted.
"""

# Imports of the SDK, httpx and rich happen inside the commands: `inference-api --help` starts
# about as fast as `python -c "import httpx"` (measured in BENCHMARKS.md).

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from ._arguments import seconds
from ._display import Display

if TYPE_CHECKING:
    from inference_api_client.models import Prediction

    from ..connection import InferenceClient

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_CANCELED = 3
EXIT_TIMED_OUT = 4
EXIT_INTERRUPTED = 130

DEFAULT_TIMEOUT = 600.0


def parse_input(pairs: Sequence[str]) -> dict[str, Any]:
    """`key=value` pairs to a model input: JSON values where they parse, `@path` for files."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, separator, raw = pair.partition("=")
        if not separator or not key:
            raise ValueError(f"input {pair!r} is not key=value")
        if raw.startswith("@"):
            path = Path(raw[1:]).expanduser()
            if not path.is_file():
                raise ValueError(f"input {key}: no such file {path}")
            result[key] = path
            continue
        try:
            result[key] = json.loads(raw)
        except json.JSONDecodeError:
            result[key] = raw
    return result


def show_prediction(prediction: Prediction) -> None:
    print(json.dumps(prediction.to_dict(), indent=2, ensure_ascii=False))


def show_output(prediction: Prediction) -> None:
    output = prediction.output
    if isinstance(output, list) and all(isinstance(piece, str) for piece in output):
        print("".join(output))
    elif isinstance(output, str):
        print(output)
    else:
        print(json.dumps(output, indent=2, ensure_ascii=False))


# --- the commands: one parser and one function each; a new command adds both ---------------------------

Command = Callable[[argparse.Namespace, "InferenceClient", Display], "int | None"]  # None: EXIT_OK


def run_command(args: argparse.Namespace, client: InferenceClient, display: Display) -> None:
    from .. import calls
    from .._requests import request_options

    model_input = parse_input(args.input)
    # POST /v1/run answers only when the model is done: until then the line shows the time.
    with display.status(args.model, status="running") as on_update:
        prediction = calls.run(
            client.with_options(timeout=args.timeout), args.model, model_input, **request_options(args)
        )
        on_update(prediction)
    show_prediction(prediction) if args.json else show_output(prediction)


def stream_command(args: argparse.Namespace, client: InferenceClient, display: Display) -> None:
    from .. import streaming
    from .._requests import request_options

    pieces = streaming.stream(
        client, args.model, parse_input(args.input), timeout=args.timeout, **request_options(args)
    )
    for piece in pieces:
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")


def create_command(args: argparse.Namespace, client: InferenceClient, display: Display) -> None:
    from .. import calls, waiting
    from .._requests import request_options

    options = request_options(args)
    prediction = calls.create(client, args.version, parse_input(args.input), stream=args.stream, **options)
    if args.wait:
        try:
            with display.status(args.version) as on_update:
                prediction = waiting.wait(client, prediction, timeout=args.timeout, on_update=on_update)
        except KeyboardInterrupt:
            raise Interrupted(_cancel_after_interrupt(client, prediction.id)) from None
    show_prediction(prediction)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what the command did about it (the line `main` prints)."""


def _cancel_after_interrupt(client: InferenceClient, prediction_id: str) -> str:
    """Cancel the prediction a Ctrl-C stopped waiting for; what happened, in words."""
    from .. import calls
    from ..errors import APIError

    try:
        calls.cancel(client.with_options(timeout=10, retries=1), prediction_id)
    except APIError as error:
        return f"interrupted; canceling prediction {prediction_id} failed: {error}"
    except KeyboardInterrupt:
        return f"interrupted; prediction {prediction_id} may still be running (canceling it was interrupted)"
    return f"interrupted; prediction {prediction_id} was canceled"


def get_command(args: argparse.Namespace, client: InferenceClient, display: Display) -> None:
    from .. import calls

    show_prediction(calls.get(client, args.id))


def cancel_command(args: argparse.Namespace, client: InferenceClient, display: Display) -> None:
    from .. import calls

    show_prediction(calls.cancel(client, args.id))


def wait_command(args: argparse.Namespace, client: InferenceClient, display: Display) -> None:
    from .. import waiting

    with display.status(args.id) as on_update:
        prediction = waiting.wait(client, args.id, timeout=args.timeout, on_update=on_update)
    show_prediction(prediction)


def download_command(args: argparse.Namespace, client: InferenceClient, display: Display) -> None:
    from .. import files

    # In a directory (one that exists, or a path ending in /): the URL's file name.
    destination = files.download_path(args.url, args.path, client)
    with display.transfer(destination.name) as on_chunk:
        saved = files.download(args.url, destination, client=client, progress=on_chunk)
    print(f"saved {saved.stat().st_size} bytes to {saved}")


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """A usage error: one line (`inference-api create: ...`), exit 2; `--help` shows the usage."""
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


class CommandParser(Parser):
    """A command's parser that adds its request-field options (`inference_api._requests`) only when
    the command is used: they come from the generated models, which `inference-api --help` need not load."""

    request_model: str | None = None  # the generated request model's name
    request_skip: tuple[str, ...] = ()  # fields that have an argument or option of their own already

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self.request_model is not None:
            from inference_api_client import models

            from .._requests import add_request_options

            add_request_options(self, getattr(models, self.request_model), skip=self.request_skip)
            self.request_model = None
        return super().parse_known_args(args, namespace)


DISTRIBUTION = "inference-api"  # the name pip knows the package by


class VersionAction(argparse.Action):
    """`--version`: the installed distribution's version, from its metadata. importlib.metadata is
    imported only when asked: `inference-api --help` need not pay for it."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "print the installed version and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version(DISTRIBUTION)
        except PackageNotFoundError:  # imported from a source tree that was never installed
            from .._version import __version__

            installed = f"{__version__} (not installed: the source's version)"
        print(f"{parser.prog} {installed}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="inference-api", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=VersionAction)
    parser.add_argument("--token", help="API token (default: $INFERENCE_API_TOKEN)")
    parser.add_argument("--base-url", help="API base URL (default: $INFERENCE_API_BASE_URL, else the hosted service)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no status line or progress bar on a terminal")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log each request, retry and timing to stderr (token redacted)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=CommandParser)

    def add(name: str, command: Command, help_text: str, request_model: str | None = None) -> CommandParser:
        subparser = commands.add_parser(name, help=help_text, description=help_text)
        assert isinstance(subparser, CommandParser)
        subparser.set_defaults(command_function=command)
        subparser.request_model = request_model
        return subparser

    def with_input(subparser: argparse.ArgumentParser) -> None:
        subparser.add_argument(
            "-i", "--input", action="append", default=[], metavar="KEY=VALUE", help="an input field; repeatable"
        )

    def with_timeout(subparser: argparse.ArgumentParser, prefix: str = "") -> None:
        subparser.add_argument(
            "--timeout",
            type=seconds,
            default=DEFAULT_TIMEOUT,
            metavar="SECONDS",
            help=f"{prefix}give up after this many seconds (exit 4; default {DEFAULT_TIMEOUT:g})",
        )

    run = add("run", run_command, "run a model and print its output", "RunRequest")
    run.add_argument("model", help="the model: owner/name:version")
    with_input(run)
    run.request_skip = ("model", "input_")
    run.add_argument("--json", action="store_true", help="print the whole prediction as JSON")
    with_timeout(run)

    stream = add("stream", stream_command, "run a language model and print its output as it is generated", "RunRequest")
    stream.add_argument("model", help="the model: owner/name:version")
    with_input(stream)
    stream.request_skip = ("model", "input_")
    with_timeout(stream)

    create = add("create", create_command, "create a prediction and print it", "CreatePredictionRequest")
    create.add_argument("version", help="the model: owner/name:version, or its version alone (64 hex digits)")
    with_input(create)
    create.add_argument("--stream", action="store_true", help="ask for an event stream (urls.stream)")
    create.request_skip = ("version", "input_", "stream")
    create.add_argument("--wait", action="store_true", help="wait until it finishes, then print it")
    with_timeout(create, "with --wait: ")

    add("get", get_command, "print a prediction").add_argument("id", help="the prediction id")
    add("cancel", cancel_command, "cancel a prediction and print it").add_argument("id", help="the prediction id")

    wait = add("wait", wait_command, "wait until a prediction finishes, then print it")
    wait.add_argument("id", help="the prediction id")
    with_timeout(wait)

    download = add("download", download_command, "save a file output (such as a video URL)")
    download.add_argument("url", help="the file's URL, as a prediction's output gives it")
    download.add_argument(
        "path", help="where to save it; in a directory (an existing one, or PATH ending in /) under the URL's file name"
    )

    from . import _batch  # argparse only: the batch engine is imported when the command runs

    _batch.add_parser(add)
    return parser


# --- entry point --------------------------------------------------------------------------------------


def _fail(message: str, code: int) -> int:
    print(f"inference-api: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; its exit code. Ctrl-C at any moment, starting up included, exits 130 with one line."""
    try:
        return _main(argv)
    except BrokenPipeError:
        return _quiet_after_broken_pipe()
    except KeyboardInterrupt as interrupt:
        return _fail(str(interrupt) if isinstance(interrupt, Interrupted) else "interrupted", EXIT_INTERRUPTED)


def _quiet_after_broken_pipe() -> int:
    """The reader of stdout went away (`| head`): stop quietly, as command-line tools do.

    stdout is pointed at /dev/null so that Python's own flush at exit does not complain again.
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return EXIT_OK


def _os_error_message(error: OSError) -> str:
    """A local file error in plain words: which path, and what is wrong with it."""
    path = error.filename if error.filename is not None else ""
    if isinstance(error, FileExistsError | NotADirectoryError) and path:
        return f"cannot create a file under {path}: {path} exists and is not a directory"
    if isinstance(error, IsADirectoryError) and path:
        return f"{path} is a directory, not a file"
    if error.strerror and path:
        return f"{path}: {error.strerror[0].lower()}{error.strerror[1:]}"
    return str(error)


def _main(argv: Sequence[str] | None) -> int:
    # Parsing imports the generated models (for `create --help` options) and `connect` the SDK:
    # a Ctrl-C during either is an interruption like any other, not an import traceback.
    args = build_parser().parse_args(argv)
    if args.verbose:
        from .._logging import enable

        enable(logging.DEBUG)
    from .._security import redacted_output
    from ..connection import TOKEN_ENV, connect
    from ..errors import APIError, APITimeoutError, PredictionCanceledError, StreamCanceledError, WaitTimeoutError

    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV, "")
    if not token.strip():
        return _fail(f"no API token: pass --token TOKEN or set {TOKEN_ENV}", EXIT_USAGE)
    try:
        client = connect(token=token, base_url=args.base_url)
    except ValueError as error:
        return _fail(str(error), EXIT_USAGE)
    command: Command = args.command_function
    try:
        # A server may echo the token back in what gets printed: a prediction's output or logs.
        with client, redacted_output((client.token,)):
            code = command(args, client, Display(enabled=not args.quiet))
    except (PredictionCanceledError, StreamCanceledError) as error:
        return _fail(f"{type(error).__name__}: {error}", EXIT_CANCELED)
    except (WaitTimeoutError, APITimeoutError) as error:
        return _fail(f"{type(error).__name__}: {error}", EXIT_TIMED_OUT)
    except APIError as error:
        return _fail(f"{type(error).__name__}: {error}", EXIT_API_ERROR)
    except ValueError as error:
        return _fail(str(error), EXIT_USAGE)
    except BrokenPipeError:
        raise
    except OSError as error:  # a local file: an input to read, a download to write
        return _fail(_os_error_message(error), EXIT_API_ERROR)
    return EXIT_OK if code is None else code


if __name__ == "__main__":
    sys.exit(main())
