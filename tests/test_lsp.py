"""The language server, driven over stdio by pygls's own LSP client: diagnostics on open and on
change, a code action that fixes the LeNet ordering bug, positions in UTF-16 code units."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES

pytest.importorskip("pygls", reason="pygls is not installed (pip install -e '.[lsp,test]')")

from lsprotocol import types  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402

from initlint.lsp import Positions  # noqa: E402

LENET = FIXTURES / "IL004_lenet_seed004.py"
TIMEOUT = 60


def _apply(text: str, edits) -> str:
    """Apply LSP TextEdits (UTF-16 positions) to a text."""
    lines = text.splitlines(True)

    def offset(pos) -> int:
        line = lines[pos.line] if pos.line < len(lines) else ""
        units = 0
        for chars, ch in enumerate(line):
            if units >= pos.character:
                return sum(map(len, lines[: pos.line])) + chars
            units += len(ch.encode("utf-16-le")) // 2
        return sum(map(len, lines[: pos.line])) + len(line) if pos.line < len(lines) else len(text)

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = offset(edit.range.start), offset(edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
    return text


class Session:
    """A started client, the diagnostics it received (by uri), and a way to wait for them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.client = LanguageClient("initlint-test", "1")
        self.published = {}
        self.arrived = asyncio.Event()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(*args) -> None:  # pygls 2 passes (params), pygls 1 (client, params)
            params = args[-1]
            self.published.setdefault(params.uri, []).append(params)
            self.arrived.set()

    async def __aenter__(self) -> "Session":
        await self.client.start_io(sys.executable, "-m", "initlint", "lsp", cwd=str(self.root))
        await self.client.initialize_async(
            types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=self.root.as_uri(), process_id=None)
        )
        self.client.initialized(types.InitializedParams())
        return self

    async def wait(self, uri: str, count: int):
        while len(self.published.get(uri, [])) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), TIMEOUT)
        return self.published[uri][count - 1]

    async def __aexit__(self, *exc) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT * 3))


def _open(session: Session, path: Path, text: str) -> str:
    uri = path.as_uri()
    session.client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
    )
    return uri


def test_lenet_diagnostic_and_its_fix(tmp_path):
    path = tmp_path / "lenet.py"
    text = LENET.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")

    async def scenario():
        async with Session(tmp_path) as session:
            uri = _open(session, path, text)
            published = await session.wait(uri, 1)
            [diagnostic] = published.diagnostics
            assert (diagnostic.code, diagnostic.source) == ("IL004", "initlint")
            assert (diagnostic.range.start.line, diagnostic.range.start.character) == (14, 12)  # 15:13 in initlint
            actions = await session.client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=diagnostic.range,
                    context=types.CodeActionContext(diagnostics=[diagnostic]),
                )
            )
            return actions

    actions = _run(scenario())
    quick = [a for a in actions if a.kind == types.CodeActionKind.QuickFix]
    assert len(quick) == 1 and "IL004" in quick[0].title
    fixed = _apply(text, quick[0].edit.changes[path.as_uri()])
    lines = fixed.splitlines()
    fc3 = next(i for i, line in enumerate(lines) if "self.fc3 =" in line)
    call = next(i for i, line in enumerate(lines) if "self._initialize_weights()" in line)
    assert call > fc3
    assert fixed == (FIXTURES / "IL004_lenet_seed004.fixed").read_text(encoding="utf-8")
    assert any(a.kind == "source.fixAll.initlint" for a in actions)


def test_changes_are_debounced_and_config_is_read(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\nignore = ['IL004']\n")
    path = tmp_path / "m.py"
    clean = "import torch\nW2 = torch.ones(8, 1, requires_grad=True)\n"
    bad = clean + "s = '😀'; W1 = torch.ones(4, 8, requires_grad=True); y = (torch.randn(2, 4) @ W1).relu() @ W2\n"
    path.write_text(clean)

    async def scenario():
        async with Session(tmp_path) as session:
            uri = _open(session, path, clean)
            first = await session.wait(uri, 1)
            # Three quick edits: one lint after the last.
            for version, text in enumerate([clean + "W1 = torch.", clean + "W1 = torch.ones(", bad], start=2):
                session.client.text_document_did_change(
                    types.DidChangeTextDocumentParams(
                        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
                    )
                )
            second = await session.wait(uri, 2)
            await asyncio.sleep(1.0)
            count = len(session.published[uri])
            # The project's pyproject.toml ignores IL004: the LeNet bug is not reported here.
            lenet = _open(session, tmp_path / "lenet.py", LENET.read_text(encoding="utf-8"))
            ignored = await session.wait(lenet, 1)
            return first, second, count, ignored

    first, second, count, ignored = _run(scenario())
    assert list(ignored.diagnostics) == []
    assert list(first.diagnostics) == []
    assert [d.code for d in second.diagnostics] == ["IL001"] and second.version == 4
    # initlint's column 10 (characters) is UTF-16 character 10: the emoji before it is two code units.
    assert (second.diagnostics[0].range.start.line, second.diagnostics[0].range.start.character) == (2, 10)
    assert count == 2


def test_ignore_from_config(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\nignore = ['IL004']\n")
    from initlint.lsp import lint_text

    assert lint_text(LENET.read_text(), str(tmp_path / "lenet.py")) == []
    assert [d.code for d in lint_text(LENET.read_text(), str(LENET))] == ["IL004"]


def test_positions_count_utf16_code_units():
    text = "a = '😀é'; b\nx\n"
    utf16 = Positions(text, "utf-16")
    assert utf16.at(1, 10) == (0, 10)  # the space before `b` is character 10 (1-based): 😀 takes two units
    assert utf16.of_offset(text.index("b")) == (0, 11)
    assert utf16.of_offset(len(text)) == (2, 0)
    assert Positions(text, "utf-8").of_offset(text.index("b")) == (0, 14)
    assert Positions(text, "utf-32").of_offset(text.index("b")) == (0, 10)
