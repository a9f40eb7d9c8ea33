"""The language server, driven over stdio by pygls's own LSP client: diagnostics on open and on
change, a code action that fixes the LeNet ordering bug, positions in UTF-16 code units."""

from __future__ import annotations

import asyncio
import re
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


# ---- notebooks: notebookDocument/* with cell-relative diagnostics --------------------------------

SEEDS = FIXTURES / "notebooks" / "seeds.ipynb"


def _notebook_cells(path: Path):
    """(kind, language, text) of each cell of a .ipynb file."""
    import json

    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for cell in data["cells"]:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        kind = types.NotebookCellKind.Code if cell["cell_type"] == "code" else types.NotebookCellKind.Markup
        out.append((kind, "python" if cell["cell_type"] == "code" else "markdown", source))
    return out


def _open_notebook(session: Session, path: Path, cells) -> list:
    uri = path.as_uri()
    cell_uris = [f"vscode-notebook-cell:{path.as_posix()}#C{i}" for i in range(len(cells))]
    session.client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=uri, notebook_type="jupyter-notebook", version=1,
                cells=[types.NotebookCell(kind=kind, document=cell_uri) for (kind, _, _), cell_uri in zip(cells, cell_uris)],
            ),
            cell_text_documents=[
                types.TextDocumentItem(uri=cell_uri, language_id=language, version=1, text=text)
                for (_, language, text), cell_uri in zip(cells, cell_uris)
            ],
        )
    )
    return cell_uris


def test_notebook_cells_get_the_findings_of_initlint_check(tmp_path):
    from click.testing import CliRunner

    from initlint.cli import main

    path = tmp_path / "seeds.ipynb"
    path.write_text(SEEDS.read_text(encoding="utf-8"), encoding="utf-8")
    cells = _notebook_cells(path)
    expected = []  # (cell index, line, character, code) from `initlint check`, made 0-based
    for line in CliRunner().invoke(main, ["check", "--no-cache", "-q", str(path)]).stdout.splitlines():
        cell, row, col, code = re.match(r".*:cell (\d+):(\d+):(\d+): (IL\d{3}) ", line).groups()
        expected.append((int(cell) - 1, int(row) - 1, int(col) - 1, code))
    assert len(expected) == 4

    async def scenario():
        async with Session(tmp_path) as session:
            cell_uris = _open_notebook(session, path, cells)
            code_uris = [u for u, (kind, _, _) in zip(cell_uris, cells) if kind == types.NotebookCellKind.Code]
            for uri in code_uris:
                await session.wait(uri, 1)
            first = {uri: session.published[uri][0].diagnostics for uri in code_uris}
            # Edit cell 3 (the `torch.full(..., 1.0)` one) so that its finding goes away.
            index = expected[0][0]
            fixed = cells[index][2].replace("torch.full((n_features, 2), 1.0,", "torch.randn((n_features, 2),")
            assert fixed != cells[index][2]
            session.client.notebook_document_did_change(
                types.DidChangeNotebookDocumentParams(
                    notebook_document=types.VersionedNotebookDocumentIdentifier(uri=path.as_uri(), version=2),
                    change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(text_content=[
                        types.NotebookDocumentCellContentChanges(
                            document=types.VersionedTextDocumentIdentifier(uri=cell_uris[index], version=2),
                            changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
                        )
                    ])),
                )
            )
            after = await session.wait(cell_uris[index], 2)
            session.client.notebook_document_did_close(
                types.DidCloseNotebookDocumentParams(
                    notebook_document=types.NotebookDocumentIdentifier(uri=path.as_uri()),
                    cell_text_documents=[types.TextDocumentIdentifier(uri=u) for u in cell_uris],
                )
            )
            closed = await session.wait(code_uris[-1], 3)
            return cell_uris, first, after, closed

    cell_uris, first, after, closed = _run(scenario())
    got = sorted(
        (cell_uris.index(uri), d.range.start.line, d.range.start.character, d.code)
        for uri, diagnostics in first.items() for d in diagnostics
    )
    assert got == sorted(expected)
    assert list(after.diagnostics) == []
    assert list(closed.diagnostics) == []


def test_a_fix_inside_one_cell_is_a_quick_fix_of_that_cell(tmp_path):
    lenet = LENET.read_text(encoding="utf-8")
    head, _, body = lenet.partition("class ")
    cells = [(types.NotebookCellKind.Code, "python", head), (types.NotebookCellKind.Code, "python", "class " + body)]
    path = tmp_path / "lenet.ipynb"

    async def scenario():
        async with Session(tmp_path) as session:
            cell_uris = _open_notebook(session, path, cells)
            published = await session.wait(cell_uris[1], 1)
            [diagnostic] = published.diagnostics
            actions = await session.client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=cell_uris[1]),
                    range=diagnostic.range,
                    context=types.CodeActionContext(diagnostics=[diagnostic]),
                )
            )
            return cell_uris, diagnostic, actions

    cell_uris, diagnostic, actions = _run(scenario())
    assert diagnostic.code == "IL004"
    assert diagnostic.range.start.line == 15 - 1 - head.count("\n")  # the row within the cell
    [quick] = actions
    fixed = _apply(cells[1][2], quick.edit.changes[cell_uris[1]])
    assert head + fixed == (FIXTURES / "IL004_lenet_seed004.fixed").read_text(encoding="utf-8")
