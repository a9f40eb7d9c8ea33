"""`initlint lsp`: a language server (pygls) that publishes initlint's diagnostics and offers its
fixes as code actions.

Diagnostics are published when a document opens or is saved, and 0.3 s after the last change
(typing does not lint every keystroke). Code actions carry each fix as a WorkspaceEdit, and
`source.fixAll.initlint` applies every safe fix at once. Settings come from the `[tool.initlint]`
table of the document's own project, re-read when that file changes; a configuration that cannot
be used is one IL904 diagnostic on the document (and a log message), never a crash. Notebooks are
served as notebook documents (`notebookDocument/*`): their code cells are linted as one module, as
`initlint check` lints a .ipynb, and each cell gets its own diagnostics, positioned in the cell.
Positions are converted from initlint's character offsets to the encoding negotiated with the
client (UTF-16 unless the client offers UTF-8 or UTF-32). Needs the `lsp` extra:
`pip install 'initlint[lsp]'`.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from initlint import __version__
from initlint.config import ConfigError, Settings, find_config, load
from initlint.diagnostic import CONFIG_ERROR, Applicability, Diagnostic, Severity, file_error

INSTALL_HINT = "initlint lsp needs pygls: pip install 'initlint[lsp]'"
DEBOUNCE_SECONDS = 0.3
FIX_ALL = "source.fixAll.initlint"

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


# ---- positions ---------------------------------------------------------------------------------


class Positions:
    """Character offsets and (row, column) in characters <-> LSP positions in one encoding."""

    def __init__(self, text: str, encoding: str = "utf-16") -> None:
        self.lines = _LINE.findall(text) or [""]
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))
        self.encoding = encoding

    def _units(self, text: str) -> int:
        if self.encoding == "utf-8":
            return len(text.encode("utf-8", "surrogatepass"))
        if self.encoding == "utf-32":
            return len(text)
        return len(text.encode("utf-16-le", "surrogatepass")) // 2

    def at(self, row: int, column: int) -> Tuple[int, int]:
        """1-based row and character column -> 0-based LSP (line, character)."""
        line = self.lines[row - 1] if 1 <= row <= len(self.lines) else ""
        return row - 1, self._units(line[: max(column - 1, 0)])

    def of_offset(self, offset: int) -> Tuple[int, int]:
        """A character offset into the text -> 0-based LSP (line, character)."""
        offset = max(0, min(offset, self.starts[-1]))
        low, high = 0, len(self.lines) - 1
        while low < high:  # the last line starting at or before offset
            mid = (low + high + 1) // 2
            if self.starts[mid] <= offset:
                low = mid
            else:
                high = mid - 1
        if offset == self.starts[-1] and self.lines[-1].endswith(("\n", "\r")):
            return len(self.lines), 0  # the end of a text that ends with a newline
        return low, self._units(self.lines[low][: offset - self.starts[low]])


# ---- settings ----------------------------------------------------------------------------------

_SETTINGS: Dict[Tuple[Optional[str], float], Settings] = {}


def settings_for(path: Optional[str]) -> Settings:
    """The settings of the project `path` belongs to; re-read when its configuration changes.
    ConfigError when that configuration (or a pyproject.toml on the way up) cannot be used."""
    start = Path(path) if path else Path.cwd()
    try:
        config = find_config(start)
        stamp = os.stat(config).st_mtime if config else 0.0
    except OSError as error:
        raise ConfigError(f"cannot read the configuration: {error.strerror or error}") from None
    key = (str(config) if config else None, stamp)
    if key not in _SETTINGS:
        _SETTINGS.clear()
        _SETTINGS[key] = load(config, start, {"no-cache": True})
    return _SETTINGS[key]


def lint_text(text: str, path: str) -> List[Diagnostic]:
    """initlint's diagnostics for a document's current text (IL904 alone when its configuration
    cannot be used: linting with settings the user did not write would mislead)."""
    from initlint.engine import lint_source

    try:
        settings = settings_for(path)
    except ConfigError as error:
        return [file_error(CONFIG_ERROR, path, str(error))]
    return lint_source(text, path, settings)


# ---- notebooks ---------------------------------------------------------------------------------


def lint_cells(cells: Sequence[Tuple[str, str]], path: str) -> Dict[str, List[Diagnostic]]:
    """A notebook's code cells, as (cell uri, text) in notebook order -> each cell's diagnostics,
    rows relative to the cell and fixes as edits of the cell's text (every cell gets a list, so
    that cells whose findings went away are cleared)."""
    from initlint import notebook
    from initlint.engine import lint_source

    out: Dict[str, List[Diagnostic]] = {uri: [] for uri, _ in cells}
    if not cells:
        return out
    parsed = notebook.Notebook(
        text="",
        cells=tuple(notebook.Cell(i + 1, i, text, notebook.python_code(text)) for i, (_, text) in enumerate(cells)),
        python=True,
    )
    try:
        settings = settings_for(path)
    except ConfigError as error:
        out[cells[0][0]].append(file_error(CONFIG_ERROR, path, str(error)))
        return out
    for diagnostic in lint_source(parsed.virtual(), path, settings):
        located = notebook.to_cells(parsed, diagnostic)
        # Cell numbers here are positions among the code cells sent (1-based); a finding outside
        # every cell (a file error) goes on the first one.
        uri = cells[located.cell - 1][0] if located.cell is not None else cells[0][0]
        out[uri].append(located)
    return out


# ---- the server --------------------------------------------------------------------------------


def _pygls():
    try:
        from lsprotocol import types
    except ImportError:  # pragma: no cover - depends on the install
        raise SystemExit(INSTALL_HINT) from None
    try:
        from pygls.lsp.server import LanguageServer  # pygls 2
    except ImportError:
        try:
            from pygls.server import LanguageServer  # pygls 1.x
        except ImportError:  # pragma: no cover
            raise SystemExit(INSTALL_HINT) from None
    return types, LanguageServer


def to_lsp(types, diagnostic: Diagnostic, positions: Positions):
    """An initlint Diagnostic -> an lsprotocol Diagnostic."""
    start = positions.at(diagnostic.location.row, diagnostic.location.column)
    end = positions.at(diagnostic.end_location.row, diagnostic.end_location.column)
    return types.Diagnostic(
        range=types.Range(types.Position(*start), types.Position(*end)),
        message=diagnostic.message,
        severity=types.DiagnosticSeverity.Warning if diagnostic.severity == Severity.WARNING else types.DiagnosticSeverity.Error,
        code=diagnostic.code,
        code_description=types.CodeDescription(href=diagnostic.url) if diagnostic.url else None,
        source="initlint",
    )


def _edits(types, fix, positions: Positions) -> list:
    return [
        types.TextEdit(range=types.Range(types.Position(*positions.of_offset(e.start)), types.Position(*positions.of_offset(e.end))), new_text=e.content)
        for e in fix.edits
    ]


def code_actions(types, uri: str, text: str, diagnostics: Sequence[Diagnostic], wanted_range, encoding: str = "utf-16", only=None) -> list:
    """Quick fixes for the findings that touch `wanted_range`, and a fix-all action."""
    positions = Positions(text, encoding)
    actions = []
    quick = only is None or any(str(kind).startswith("quickfix") for kind in only)
    for d in diagnostics:
        if not quick or d.fix is None or not d.fix.edits or d.fix.applicability == Applicability.DISPLAY_ONLY:
            continue
        lsp = to_lsp(types, d, positions)
        if (lsp.range.end.line, lsp.range.end.character) < (wanted_range.start.line, wanted_range.start.character):
            continue
        if (lsp.range.start.line, lsp.range.start.character) > (wanted_range.end.line, wanted_range.end.character):
            continue
        unsafe = d.fix.applicability == Applicability.UNSAFE
        actions.append(
            types.CodeAction(
                title=f"{d.fix.title} ({d.code}{', unsafe' if unsafe else ''})",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[lsp],
                is_preferred=not unsafe,
                edit=types.WorkspaceEdit(changes={uri: _edits(types, d.fix, positions)}),
            )
        )
    if only is None or any(FIX_ALL.startswith(str(kind)) for kind in only):
        fixed = _fix_all(text, diagnostics, uri)
        if fixed is not None and fixed != text:
            end = positions.of_offset(len(text))
            whole = types.TextEdit(range=types.Range(types.Position(0, 0), types.Position(*end)), new_text=fixed)
            actions.append(types.CodeAction(title="initlint: fix all safe fixes", kind=FIX_ALL, edit=types.WorkspaceEdit(changes={uri: [whole]})))
    return actions


def _fix_all(text: str, diagnostics: Sequence[Diagnostic], uri: str) -> Optional[str]:
    from initlint import fix as fixing

    if not fixing.has_fixes(diagnostics):
        return None
    path = _path(uri)
    return fixing.fix_source(text, lambda t: lint_text(t, path), diagnostics=diagnostics).text


def _path(uri: str) -> str:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def _notebook_sync(types):
    """Notebook synchronisation for every notebook type with Python cells (None: lsprotocol too old)."""
    with_cells = getattr(types, "NotebookDocumentFilterWithCells", None)
    if with_cells is None:  # pragma: no cover - lsprotocol before 2024
        return None
    selector = with_cells(cells=[types.NotebookCellLanguage(language="python")], notebook="*")
    return types.NotebookDocumentSyncOptions(notebook_selector=[selector], save=True)


def create_server():
    """The pygls LanguageServer with initlint's features registered."""
    types, LanguageServer = _pygls()

    class Server(LanguageServer):
        def report_server_error(self, error, source) -> None:
            # pygls shows an error pop-up and stops serving; a client's bad message (or one
            # file that trips a handler) is worth a line in the client's log, no more.
            from initlint.lsp_stdio import log

            log(self, f"{getattr(source, '__name__', source)}: {type(error).__name__}: {error}")

    sync = _notebook_sync(types)
    try:
        server = Server("initlint", __version__, notebook_document_sync=sync)
    except TypeError:  # pragma: no cover - a pygls without notebook support
        server, sync = Server("initlint", __version__), None
    pending: Dict[str, asyncio.Task] = {}
    results: Dict[str, Tuple[str, List[Diagnostic]]] = {}
    cell_uris: Dict[str, List[str]] = {}  # notebook uri -> the cell uris last published

    def encoding() -> str:
        value = getattr(server.workspace, "position_encoding", None) or "utf-16"
        return str(getattr(value, "value", value))

    def send(uri: str, items: list, version: Optional[int] = None) -> None:
        if hasattr(server, "text_document_publish_diagnostics"):
            server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=items, version=version))
        else:  # pragma: no cover - pygls 1.x
            server.publish_diagnostics(uri, items, version)

    def log_config_errors(diagnostics: Sequence[Diagnostic]) -> None:
        for d in diagnostics:
            if d.code == CONFIG_ERROR[0]:
                message = f"initlint: {d.message}"
                if hasattr(server, "window_log_message"):
                    server.window_log_message(types.LogMessageParams(type=types.MessageType.Warning, message=message))
                else:  # pragma: no cover - pygls 1.x
                    server.show_message_log(message, types.MessageType.Warning)

    def publish(uri: str) -> None:
        if is_notebook(uri):
            publish_notebook(uri)
            return
        document = server.workspace.get_text_document(uri)
        path = document.path or _path(uri)
        if not path.endswith((".py", ".pyi")) and getattr(document, "language_id", "python") not in (None, "python"):
            return
        text = document.source
        diagnostics = lint_text(text, path)
        log_config_errors(diagnostics)
        results[uri] = (text, diagnostics)
        positions = Positions(text, encoding())
        send(uri, [to_lsp(types, d, positions) for d in diagnostics], document.version)

    def is_notebook(uri: str) -> bool:
        find = getattr(server.workspace, "get_notebook_document", None)
        return find is not None and find(notebook_uri=uri) is not None

    def publish_notebook(uri: str) -> None:
        notebook = server.workspace.get_notebook_document(notebook_uri=uri)
        if notebook is None:
            return
        cells = []
        for cell in notebook.cells:
            if cell.kind != types.NotebookCellKind.Code:
                continue
            document = server.workspace.get_text_document(cell.document)
            if getattr(document, "language_id", "python") in (None, "python"):
                cells.append((cell.document, document.source))
        found = lint_cells(cells, _path(uri))
        for cell_uri, diagnostics in found.items():
            log_config_errors(diagnostics)
            text = dict(cells)[cell_uri]
            results[cell_uri] = (text, diagnostics)
            positions = Positions(text, encoding())
            send(cell_uri, [to_lsp(types, d, positions) for d in diagnostics])
        for gone in set(cell_uris.get(uri, ())) - set(found):  # deleted cells, markdown now
            results.pop(gone, None)
            send(gone, [])
        cell_uris[uri] = list(found)

    def cancel(uri: str) -> None:
        task = pending.pop(uri, None)
        if task is not None:
            task.cancel()

    async def later(uri: str) -> None:
        await asyncio.sleep(DEBOUNCE_SECONDS)
        pending.pop(uri, None)
        try:
            publish(uri)
        except Exception as error:  # noqa: BLE001 - a task's exception would only reach stderr, unexplained
            server.report_server_error(error, "publishing diagnostics")

    def schedule(uri: str) -> None:
        cancel(uri)
        pending[uri] = asyncio.ensure_future(later(uri))

    def refresh(uri: str) -> None:
        cancel(uri)
        publish(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls, params) -> None:
        publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls, params) -> None:
        refresh(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls, params) -> None:
        schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls, params) -> None:
        uri = params.text_document.uri
        cancel(uri)
        results.pop(uri, None)
        send(uri, [])

    if sync is not None:

        @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
        def notebook_open(ls, params) -> None:
            publish(params.notebook_document.uri)

        @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
        async def notebook_change(ls, params) -> None:
            schedule(params.notebook_document.uri)

        @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
        def notebook_save(ls, params) -> None:
            refresh(params.notebook_document.uri)

        @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
        def notebook_close(ls, params) -> None:
            uri = params.notebook_document.uri
            cancel(uri)
            closed = [item.uri for item in params.cell_text_documents] + cell_uris.pop(uri, [])
            for cell_uri in dict.fromkeys(closed):
                results.pop(cell_uri, None)
                send(cell_uri, [])

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL]),
    )
    def code_action(ls, params):
        uri = params.text_document.uri
        document = server.workspace.get_text_document(uri)
        text = document.source
        cached = results.get(uri)
        only = params.context.only if params.context else None
        find = getattr(server.workspace, "get_notebook_document", None)
        if find is not None and find(cell_uri=uri) is not None:
            # A cell: its quick fixes only (a fix-all would need the whole notebook's text).
            if cached is None or cached[0] != text:
                return []
            actions = code_actions(types, uri, text, cached[1], params.range, encoding(), only)
            return [action for action in actions if action.kind != FIX_ALL]
        diagnostics = cached[1] if cached and cached[0] == text else lint_text(text, document.path or _path(uri))
        return code_actions(types, uri, text, diagnostics, params.range, encoding(), only)

    return server


def serve() -> None:
    """Run the server over stdio until the client says exit (framing hardened: initlint.lsp_stdio)."""
    from initlint import lsp_stdio

    server = create_server()
    if lsp_stdio.supported(server):
        lsp_stdio.serve(server)
    else:  # pragma: no cover - pygls 1.x: its own transport
        server.start_io()
