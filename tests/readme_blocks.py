"""The fenced code blocks of README.md, as the README tests run and type-check them.

- Python blocks form one session, in order: the quickstart starts the mock server and the others
  continue it, as a reader pasting them one after another would.
- A Python block that sets `pytest_plugins` is a test module of its own, named on its first line
  (`# test_something.py, ...`): pytest runs it.
- Shell blocks each run on their own, with bash.
- A block right after `<!-- not run: REASON -->` is not run; `NOT_RUN` lists the only ones allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# The blocks that may be skipped, by what each one holds (its first command).
NOT_RUN = {
    "pip install ": "installs packages",
    "python3 scripts/dev ": "sets up the checkout's .venv and runs its demo or its whole suite",
}

_BLOCK = re.compile(r"(?:<!-- not run: (?P<reason>.+?) -->\n)?^```(?P<language>\w*)\n(?P<code>.*?)^```$", re.M | re.S)


@dataclass(frozen=True)
class Block:
    language: str
    code: str
    line: int  # of the opening fence, for messages
    not_run: str | None  # the README's reason, when it is not run

    @property
    def test_module_name(self) -> str | None:
        """The file name of a block that is a pytest module, else None."""
        if "pytest_plugins" not in self.code:
            return None
        match = re.match(r"# (test_\w+\.py)\b", self.code)
        assert match, f"README.md line {self.line}: a test module names its file on its first line"
        return match.group(1)


def blocks(text: str | None = None) -> list[Block]:
    text = README.read_text() if text is None else text
    return [
        Block(match["language"], match["code"], text.count("\n", 0, match.start("language")) + 1, match["reason"])
        for match in _BLOCK.finditer(text)
    ]


def run_blocks(language: str) -> list[Block]:
    return [block for block in blocks() if block.language == language and block.not_run is None]


def session() -> str:
    """The Python blocks that are not test modules, in order: one script."""
    return "\n".join(block.code for block in run_blocks("python") if block.test_module_name is None)


def readme_test_modules() -> dict[str, str]:
    return {name: block.code for block in run_blocks("python") if (name := block.test_module_name)}
