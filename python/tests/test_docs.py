"""The code blocks of README.md and docs/PYTHON.md run as printed.

Each document's fenced blocks are extracted and run in order, in one scratch folder per document,
so that the blocks that make data (``datagen demo``, ``datagen cache build``) come before the
examples that open it, as a reader pasting them one after the other would run them.

The conventions the documents follow:

* The scratch folder stands for the repository root: ``python/`` there links to the repository's
  (only read, by the benchmark's block); the data the blocks make stay in the scratch folder.
* ```` ```sh ````, ```` ```bash ```` and ```` ```shell ```` blocks run whole with ``bash -euo pipefail``.
* ```` ```console ```` blocks are sessions: a line starting with ``$ `` is a command (continued on the
  next line while it ends with ``\\``); every other line is the output it printed, not checked.
* ```` ```python ```` blocks run with this test's interpreter (the test venv), each in a fresh
  process, so each block has its own imports.
* ```` ```swift ```` blocks are programs (a ``main.swift``): compiled against the package's debug build
  (the one that holds the ``datagen`` binary), then run.
* Blocks without a language (or ```` ```text ````) are output (an error message, say): not run.
* A block right below a ``<!-- not-run -->`` line (``<!-- not-run: reason -->``) is not run; only
  blocks that install software or run the whole test suite carry it, which a test here checks.

Commands find ``datagen`` on ``PATH`` (the directory of the binary the other tests use:
``DATAGEN_CLI``, or the repository's ``.build/debug/datagen``) and ``python`` (the test venv).
Python blocks that import torch, keras or ray are skipped, before running, when those are missing.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = ["README.md", "docs/PYTHON.md"]
SHELL = {"sh", "bash", "shell", "console"}
PYTHON = {"python", "py"}
SWIFT = {"swift"}
OUTPUT = {"", "text", "output"}
NOT_RUN = re.compile(r"^<!--\s*not-run\b\s*(?::\s*(?P<reason>.*?))?\s*-->$")
BLOCK_TIMEOUT = 600
# What a not-run block may do: install software, or run the whole test suite (or the demo, which
# installs system libraries and makes a release build).
NOT_RUN_COMMANDS = re.compile(
    r"^(sudo\s+)?(pip3?|python3?\s+-m\s+pip)\s+install\b"
    r"|^(sudo\s+)?apt(-get)?\s+install\b"
    r"|^(bash\s+)?(\./)?tools/(demo|test|install-deps)\.sh\b"
    r"|^(bash\s+)?(\./)?python/run_tests\.sh\b"
)


@dataclass(frozen=True)
class Block:
    """One fenced code block of a document."""

    document: str
    index: int  # 1-based, counting every fenced block of the document
    line: int  # 1-based line of the opening fence
    language: str
    text: str
    not_run: str | None  # the reason given by a <!-- not-run --> line above, "" without one

    @property
    def name(self):
        return f"{self.document}:block{self.index}:line{self.line}"

    @property
    def runs(self):
        return self.not_run is None and self.language not in OUTPUT

    def commands(self):
        """The shell commands of the block (a console block's `$ ` lines, continuations joined)."""
        if self.language != "console":
            return self.text
        commands, current = [], None
        for line in self.text.splitlines():
            if current is not None:
                current.append(line)
            elif line.startswith("$ "):
                current = [line[2:]]
            else:
                continue  # output
            if not line.endswith("\\"):
                commands.append("\n".join(current))
                current = None
        if current is not None:
            commands.append("\n".join(current))
        return "\n".join(commands) + "\n"


def parse_blocks(document: str, markdown: str) -> list[Block]:
    """Every fenced block of a Markdown text, with its language and its not-run mark."""
    blocks, lines = [], markdown.splitlines()
    number = 0
    while number < len(lines):
        fence = re.match(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<language>[\w+-]*)", lines[number])
        if not fence:
            number += 1
            continue
        opening, marker = number, fence["fence"]
        body = []
        number += 1
        while number < len(lines) and not lines[number].lstrip().startswith(marker):
            body.append(lines[number][len(fence["indent"]):] if lines[number].startswith(fence["indent"]) else lines[number])
            number += 1
        number += 1  # the closing fence
        above = next((lines[k].strip() for k in range(opening - 1, -1, -1) if lines[k].strip()), "")
        mark = NOT_RUN.match(above)
        blocks.append(Block(document, len(blocks) + 1, opening + 1, fence["language"].lower(),
                            "\n".join(body) + "\n", (mark["reason"] or "") if mark else None))
    return blocks


BLOCKS = [block for document in DOCUMENTS for block in parse_blocks(document, (REPO / document).read_text())]


def _missing_modules(source: str) -> list[str]:
    """The top-level modules a Python block imports that this interpreter cannot find (keras also
    needs the backend the block, or the environment, names in KERAS_BACKEND)."""
    needed = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            needed += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            needed.append(node.module.split(".")[0])
    if "keras" in needed:
        chosen = re.search(r"""KERAS_BACKEND["']\]\s*=\s*["'](\w+)["']""", source)
        backend = chosen[1] if chosen else os.environ.get("KERAS_BACKEND", "tensorflow")
        needed.append(backend)  # "torch", "jax" and "tensorflow" are also their modules' names
    return sorted({name for name in needed if importlib.util.find_spec(name) is None})


@dataclass
class Outcome:
    """What running one block did."""

    returncode: int
    output: str
    seconds: float
    skipped: str | None = None


class DocumentRun:
    """Runs one document's blocks in order in one scratch folder, each at most once."""

    def __init__(self, folder: Path, datagen: str | None):
        self.folder = folder
        self.datagen = datagen
        # The folder stands for the repository root: the benchmark's block runs python/benchmarks/….
        (folder / "python").symlink_to(REPO / "python", target_is_directory=True)
        self.outcomes: dict[int, Outcome] = {}
        self.environment = dict(os.environ)
        paths = [os.path.dirname(sys.executable)] + ([os.path.dirname(datagen)] if datagen else [])
        self.environment["PATH"] = os.pathsep.join(paths + [os.environ.get("PATH", "")])
        self.environment.setdefault("KERAS_BACKEND", "torch")
        self.environment["PYTHONUNBUFFERED"] = "1"

    def through(self, block: Block) -> Outcome:
        """Runs every block of the document up to this one that has not run yet; its outcome."""
        for earlier in BLOCKS:
            if earlier.document == block.document and earlier.index <= block.index and earlier.runs \
                    and earlier.index not in self.outcomes:
                self.outcomes[earlier.index] = self._run(earlier)
        return self.outcomes[block.index]

    def failed_before(self, block: Block) -> list[str]:
        """The blocks above this one that ran and failed (the data it reads may be missing)."""
        return [other.name for other in BLOCKS if other.document == block.document and other.index < block.index
                and other.index in self.outcomes and self.outcomes[other.index].returncode != 0]

    def _run(self, block: Block) -> Outcome:
        if block.language in SHELL:
            if self.datagen is None:
                return Outcome(0, "", 0, skipped="no datagen binary: set DATAGEN_CLI to a built datagen "
                                                 "(swift build --product datagen) to run the shell blocks")
            return self._process(["bash", "-euo", "pipefail", "-c", block.commands()])
        if block.language in PYTHON:
            missing = _missing_modules(block.text)
            if missing:
                return Outcome(0, "", 0, skipped=f"needs {', '.join(missing)}, not installed in this venv "
                                                 "(python/run_tests.sh installs torch, keras, scikit-learn and Ray)")
            if self.datagen is None:
                return Outcome(0, "", 0, skipped="the data it opens is made by the shell blocks, which need "
                                                 "DATAGEN_CLI")
            return self._process([sys.executable, "-c", block.text])
        if block.language in SWIFT:
            return self._swift(block)
        return Outcome(1, f"unknown block language {block.language!r}: give it one of "
                          f"{sorted(SHELL | PYTHON | SWIFT)}, mark it <!-- not-run -->, or make it ```text", 0)

    def _process(self, command: list[str]) -> Outcome:
        start = time.monotonic()
        try:
            result = subprocess.run(command, cwd=self.folder, env=self.environment, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, timeout=BLOCK_TIMEOUT)
        except subprocess.TimeoutExpired as timeout:
            return Outcome(-1, f"timed out after {BLOCK_TIMEOUT} s\n{timeout.output or ''}", BLOCK_TIMEOUT)
        return Outcome(result.returncode, result.stdout, time.monotonic() - start)

    def _swift(self, block: Block) -> Outcome:
        """Compiles the block as a program's main.swift against the debug build that made the
        `datagen` binary, linking the object files that `datagen` links but its own (the library
        and everything it depends on: no package of its own to build), then runs it."""
        if self.datagen is None or shutil.which("swiftc") is None:
            return Outcome(0, "", 0, skipped="needs a Swift toolchain and the package's debug build (DATAGEN_CLI)")
        build = Path(self.datagen).resolve().parent
        link_list = build / "datagen.product" / "Objects.LinkFileList"
        if not link_list.exists() or not (build / "Modules" / "DataGenerator.swiftmodule").exists():
            return Outcome(0, "", 0, skipped=f"{build} holds no SwiftPM build of datagen to link against")
        objects = [line.strip().strip("'\"") for line in link_list.read_text().splitlines() if line.strip()]
        objects = [path for path in objects if Path(path).parent.name != "datagen.build"]  # datagen's main
        # The C modules those objects import: system libraries' module maps in Sources/, those SwiftPM
        # generates for C targets, and the include/module.modulemap of C targets of dependencies.
        targets = sorted({Path(path).parent.name.removesuffix(".build") for path in objects})
        checkouts = next((folder / "checkouts" for folder in build.parents if (folder / "checkouts").is_dir()), None)
        module_maps = sorted(REPO.glob("Sources/*/module.modulemap"))
        for target in targets:
            module_maps += [build / f"{target}.build" / "module.modulemap"]
            if checkouts is not None:
                module_maps += checkouts.glob(f"*/Sources/{target}/include/module.modulemap")
        flags = [flag for path in module_maps if path.exists() for flag in ("-Xcc", f"-fmodule-map-file={path}")]
        source = self.folder / f"block{block.index}" / "main.swift"
        source.parent.mkdir(exist_ok=True)
        source.write_text(block.text)
        program = source.parent / "program"
        # The modules' `link` directives travel in the Swift objects that import them (autolink), but
        # not in a C target's objects (CImageCodecs calls libjpeg and libpng): pass every system
        # library's `link "name"` of Sources/ as -l, as SwiftPM does when it links datagen.
        libraries = sorted({f"-l{name}" for path in REPO.glob("Sources/*/module.modulemap")
                            for name in re.findall(r'\blink\s+"([^"]+)"', path.read_text())})
        compiled = self._process(["swiftc", "-swift-version", "6", "-I", str(build / "Modules"), *flags,
                                  str(source), *objects, *libraries, "-o", str(program)])
        if compiled.returncode != 0:
            compiled.output = "swiftc failed:\n" + compiled.output
            return compiled
        ran = self._process([str(program)])
        ran.seconds += compiled.seconds
        return ran


@pytest.fixture(scope="module")
def document_runs(tmp_path_factory):
    """One DocumentRun per document, made on first use."""
    override = os.environ.get("DATAGEN_CLI")
    binary = os.path.abspath(override) if override else None
    if binary is None and (REPO / ".build" / "debug" / "datagen").exists():
        binary = str(REPO / ".build" / "debug" / "datagen")
    runs = {}

    def run_for(document):
        if document not in runs:
            runs[document] = DocumentRun(tmp_path_factory.mktemp(Path(document).stem), binary)
        return runs[document]

    return run_for


def _numbered(text):
    return "\n".join(f"{number:4}  {line}" for number, line in enumerate(text.splitlines(), 1))


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.name)
def test_the_block_runs_as_printed(block, document_runs):
    if block.not_run is not None:
        pytest.skip(f"marked not-run{': ' + block.not_run if block.not_run else ''}")
    if block.language in OUTPUT:
        pytest.skip(f"an output block ({block.language or 'no language'}): nothing to run")
    run = document_runs(block.document)
    outcome = run.through(block)
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    if outcome.returncode != 0:
        earlier = run.failed_before(block)
        note = f"\n(earlier blocks failed too: {', '.join(earlier)})" if earlier else ""
        pytest.fail(f"{block.name} ({block.language}) exited {outcome.returncode} after {outcome.seconds:.1f} s "
                    f"in {run.folder}{note}\n--- the block ---\n{_numbered(block.text)}\n"
                    f"--- its output (last 6000 characters) ---\n{outcome.output[-6000:]}", pytrace=False)


@pytest.mark.parametrize("block", [block for block in BLOCKS if block.not_run is not None],
                         ids=lambda block: block.name)
def test_only_blocks_that_install_software_or_run_the_whole_suite_are_not_run(block):
    lines = [line for line in shlex_lines(block.commands()) if line]
    assert lines, f"{block.name} is marked not-run but holds no command"
    for line in lines:
        assert NOT_RUN_COMMANDS.search(line), (
            f"{block.name} is marked not-run, but `{line}` neither installs software nor runs the whole "
            "test suite: let the doc test run it")


def shlex_lines(script):
    """The script's commands, one a line, without comments."""
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        commands.append(" ".join(words))
    return commands


def test_every_document_has_blocks_that_run():
    for document in DOCUMENTS:
        runnable = [block for block in BLOCKS if block.document == document and block.runs]
        assert runnable, f"no runnable block found in {document}: has the fence syntax changed?"


def test_blocks_are_read_with_their_language_line_and_not_run_mark():
    markdown = "\n".join([
        "# Title",                                   # 1
        "<!-- not-run: installs -->",                # 2
        "",                                          # 3
        "```sh",                                     # 4
        "pip install ./python",                      # 5
        "```",                                       # 6
        "```console",                                # 7
        "$ datagen cache build inv.csv \\",          # 8
        "      --output x.dgcache",                  # 9
        "built x.dgcache: 3 rows",                   # 10
        "",                                          # 11
        "$ datagen cache info x.dgcache",            # 12
        "rows 3",                                    # 13
        "```",                                       # 14
        "<!-- not-run -->",                          # 15
        "```python",                                 # 16
        "import datagen",                            # 17
        "```",                                       # 18
        "```",                                       # 19
        "/data/x.dgcache: checksum mismatch",        # 20
        "```",                                       # 21
    ])
    blocks = parse_blocks("T.md", markdown)
    assert [(b.index, b.line, b.language, b.not_run) for b in blocks] == [
        (1, 4, "sh", "installs"), (2, 7, "console", None), (3, 16, "python", ""), (4, 19, "", None)]
    assert blocks[1].commands() == "datagen cache build inv.csv \\\n      --output x.dgcache\ndatagen cache info x.dgcache\n"
    assert blocks[1].name == "T.md:block2:line7"
    assert [b.runs for b in blocks] == [False, True, False, False]
