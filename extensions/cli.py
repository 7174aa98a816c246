"""The `inference-api` command line.

    inference-api run MODEL -i prompt="Write a haiku" [-i max_new_tokens=64]
    inference-api stream MODEL -i prompt="Tell me a story"
    inference-api create VERSION -i image=@photo.jpg -i prompt="..." [--stream] [--wait]
    inference-api get ID | cancel ID | wait ID [--timeout S]
    inference-api download URL PATH

The token and base URL come from --token / --base-url or INFERENCE_API_TOKEN /
INFERENCE_API_BASE_URL. `-i key=value` values are JSON when they parse as JSON (numbers, true,
lists...), text otherwise; `-i key=@path` sends a local file (as a data URI). Every other field of
the request body has an option of its own, derived from the generated request models (`create
--help` lists them). Predictions print as
JSON; a run's text output prints as text. Errors print one line to stderr and exit 1 (2 for
bad arguments, 130 when interrupted).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generated_client import AuthenticatedClient
from generated_client.models import CreatePredictionRequest, Prediction, RunRequest

from . import calls, files, streaming, waiting
from ._requests import add_request_options, request_options
from .connection import connect
from .errors import APIError

EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inference-api", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--token", help="API token (default: $INFERENCE_API_TOKEN)")
    parser.add_argument("--base-url", help="API base URL (default: $INFERENCE_API_BASE_URL, else the hosted service)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_input(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "-i", "--input", action="append", default=[], metavar="KEY=VALUE", help="an input field; repeatable"
        )

    run = commands.add_parser("run", help="run a model and print its output")
    run.add_argument("model", help="owner/name:version")
    with_input(run)
    add_request_options(run, RunRequest)
    run.add_argument("--json", action="store_true", help="print the whole prediction as JSON")

    stream = commands.add_parser("stream", help="run a language model and print its output as it is generated")
    stream.add_argument("model", help="owner/name:version")
    with_input(stream)
    add_request_options(stream, RunRequest)

    create = commands.add_parser("create", help="create a prediction and print it")
    create.add_argument("version", help="the model version (64 hex digits)")
    with_input(create)
    create.add_argument("--stream", action="store_true", help="ask for an event stream (urls.stream)")
    add_request_options(create, CreatePredictionRequest, skip=("stream",))
    create.add_argument("--wait", action="store_true", help="wait until it finishes, then print it")
    create.add_argument("--timeout", type=float, default=600.0, help="with --wait: give up after this many seconds")

    for name, help_text in (("get", "print a prediction"), ("cancel", "cancel a prediction and print it")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("id", help="the prediction id")

    wait = commands.add_parser("wait", help="wait until a prediction finishes, then print it")
    wait.add_argument("id", help="the prediction id")
    wait.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")

    download = commands.add_parser("download", help="save a file output (such as a video URL)")
    download.add_argument("url")
    download.add_argument("path", type=Path)
    return parser


def execute(args: argparse.Namespace, client: AuthenticatedClient) -> None:
    if args.command == "run":
        prediction = calls.run(client, args.model, parse_input(args.input), **request_options(args))
        show_prediction(prediction) if args.json else show_output(prediction)
    elif args.command == "stream":
        for piece in streaming.stream(client, args.model, parse_input(args.input), **request_options(args)):
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
    elif args.command == "create":
        options = request_options(args)
        prediction = calls.create(client, args.version, parse_input(args.input), stream=args.stream, **options)
        if args.wait:
            prediction = waiting.wait(client, prediction, timeout=args.timeout, cancel_on_interrupt=True)
        show_prediction(prediction)
    elif args.command == "get":
        show_prediction(calls.get(client, args.id))
    elif args.command == "cancel":
        show_prediction(calls.cancel(client, args.id))
    elif args.command == "wait":
        show_prediction(waiting.wait(client, args.id, timeout=args.timeout, cancel_on_interrupt=False))
    elif args.command == "download":
        saved = files.download(args.url, args.path, client=client)
        print(f"saved {saved.stat().st_size} bytes to {saved}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        client = connect(token=args.token, base_url=args.base_url)
    except (ValueError, APIError) as error:
        parser.error(str(error))
    try:
        with client:
            execute(args, client)
    except APIError as error:
        print(f"inference-api: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_API_ERROR
    except ValueError as error:
        print(f"inference-api: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:  # a local file: an input to read, a download to write
        print(f"inference-api: {error}", file=sys.stderr)
        return EXIT_API_ERROR
    except KeyboardInterrupt:
        print("inference-api: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
