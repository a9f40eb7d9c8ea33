"""The language server's stdio transport: LSP framing that a client's mistakes cannot break.

pygls reads `Content-Length` and then exactly that many bytes, and treats anything it cannot
read as a server error: a huge length makes it allocate (or wait for) gigabytes, a wrong one
swallows the next message, a body that is not JSON or a request with invalid params stops the
whole server after an error pop-up. Here, instead:

* a header block is found by its shape (`Content-Length: N` ... blank line), so bytes that are
  no message are skipped up to the next one;
* a body longer than MAX_MESSAGE_BYTES is read past (not kept) and skipped;
* a body whose length was declared too long is cut where the next header block starts (a raw
  CR LF cannot occur inside JSON text, so such a block is never part of the body);
* a message that is not a JSON-RPC message is skipped; a request among them gets an error
  response (invalid request, invalid params), so the client is not left waiting;
* each such mistake is logged (window/logMessage), never shown as an error pop-up, and the
  server goes on answering.

Used with pygls 2 (whose protocol object structures and dispatches messages); with older pygls
the server falls back to pygls's own transport.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import threading
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Optional

MAX_MESSAGE_BYTES = 128 * 1024 * 1024  # no document worth linting comes near (the engine stops at 20 M chars)
_CHUNK = 64 * 1024
# A complete header block: header lines (Content-Length among them), then an empty line. The
# bounds keep a failed match short; blocks are only looked for where an empty line ends one.
_LINE = rb"[!-9;-~]{1,64}:[^\r\n]{0,1024}\r\n"
_HEADERS = re.compile(rb"(?:%s)*?Content-Length:[ \t]*(\d{1,20})[ \t]*\r\n(?:%s)*\r\n" % (_LINE, _LINE), re.IGNORECASE)
_BLOCK = 16 * 1024  # the longest header block looked for
# What is kept of skipped bytes: enough to find a header block that starts in them.
_TAIL = _BLOCK + 4


def _find_headers(buffer: bytearray, start: int = 0) -> "Optional[re.Match[bytes]]":
    """The first complete header block ending at or after `start`: found through the empty line
    that ends it (a quick search), then matched in the bytes before that line only."""
    while True:
        blank = buffer.find(b"\r\n\r\n", start)
        if blank < 0:
            return None
        end = blank + 4
        match = _HEADERS.search(buffer, max(0, end - _BLOCK), end)
        if match is not None and match.end() == end:
            return match
        start = blank + 1


@dataclass(frozen=True)
class Frame:
    """One message read from the stream: its body, or None when it was skipped; what went wrong."""

    body: Optional[bytes]
    problem: Optional[str] = None


class Framer:
    """Messages out of a byte stream, resynchronising on the next header block after any mistake."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self.read = read  # returns what is there (at least a byte), b"" at the end
        self.buffer = bytearray()
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.read(_CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def next(self) -> Optional[Frame]:
        """The next message (blocking until it is complete), or None at the end of the stream."""
        skipped = 0
        while True:
            match = _find_headers(self.buffer)
            if match is None:
                if len(self.buffer) > _TAIL:  # no header block in sight: keep only what may start one
                    skipped += len(self.buffer) - _TAIL
                    del self.buffer[: len(self.buffer) - _TAIL]
                if not self._fill():
                    return None
                continue
            length = int(match.group(1))  # (before the buffer changes: the match reads from it)
            skipped += match.start()
            del self.buffer[: match.end()]
            frame = self._body(length)
            if skipped and frame.problem is None:
                frame = Frame(frame.body, f"skipped {skipped} bytes that were not a message")
            return frame

    def _body(self, length: int) -> Frame:
        keep = length <= MAX_MESSAGE_BYTES
        dropped = 0  # bytes of an oversized body read past and not kept
        scanned = 0  # bytes of the buffer already searched for the next header block
        while True:
            cut = _find_headers(self.buffer, max(0, scanned - 3))
            if cut is not None and cut.start() + dropped < length:  # the next message starts inside this one
                del self.buffer[: cut.start()]
                return Frame(None, f"a message was shorter than its Content-Length ({length}); skipped")
            if len(self.buffer) + dropped >= length:
                break
            scanned = len(self.buffer)
            if not keep and len(self.buffer) > _TAIL:
                dropped += len(self.buffer) - _TAIL
                del self.buffer[: len(self.buffer) - _TAIL]
                scanned = len(self.buffer)
            if not self._fill():
                return Frame(None, f"the stream ended inside a message of {length} bytes")
        taken = length - dropped
        body = bytes(self.buffer[:taken])
        del self.buffer[:taken]
        if not keep:
            return Frame(None, f"a message of {length} bytes is larger than the limit of {MAX_MESSAGE_BYTES}; skipped")
        return Frame(body)


# ---- serving ------------------------------------------------------------------------------------


def supported(server: Any) -> bool:
    """Whether this pygls exposes what `serve` drives (pygls 2)."""
    protocol = getattr(server, "protocol", None)
    return all(hasattr(protocol, name) for name in ("structure_message", "handle_message", "set_writer", "_send_response"))


def serve(server: Any, stdin: Optional[BinaryIO] = None, stdout: Optional[BinaryIO] = None) -> None:
    """Run `server` over stdio until the client says exit or closes the stream."""
    from pygls.io_ import StdoutWriter

    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    try:
        asyncio.run(_serve(server, stdin or sys.stdin.buffer))
    except BrokenPipeError:  # the client is gone
        pass
    finally:
        server.shutdown()


async def _serve(server: Any, stdin: BinaryIO) -> None:
    loop = asyncio.get_running_loop()
    frames: "asyncio.Queue[Optional[Frame]]" = asyncio.Queue()

    # A daemon thread reading the descriptor itself: a blocked read must neither keep the
    # process alive nor hold the lock of sys.stdin's buffer when Python exits (that aborts it).
    try:
        fd = stdin.fileno()
        framer = Framer(lambda size: os.read(fd, size))
    except (AttributeError, OSError, ValueError):  # a stream without a descriptor (a test's)
        framer = Framer(getattr(stdin, "read1", stdin.read))

    def read() -> None:
        while True:
            try:
                frame = framer.next()
            except (OSError, ValueError):
                frame = None
            loop.call_soon_threadsafe(frames.put_nowait, frame)
            if frame is None:
                return

    threading.Thread(target=read, name="initlint-lsp-stdin", daemon=True).start()
    while True:
        frame = await frames.get()
        if frame is None:
            return
        if frame.problem:
            log(server, frame.problem)
        if frame.body is not None:
            handle(server, frame.body)


def handle(server: Any, body: bytes) -> None:
    """One message's body: dispatched when it is a JSON-RPC message, else logged (and a request
    answered with an error)."""
    from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidRequest

    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:
        log(server, f"skipped a message that is not JSON: {error}")
        return
    request_id = _request_id(data)
    if not isinstance(data, dict) or data.get("jsonrpc") != "2.0" or not isinstance(data.get("method", ""), str):
        _refuse(server, request_id, JsonRpcInvalidRequest(), "skipped a message that is not a JSON-RPC 2.0 message")
        return
    protocol = server.protocol
    try:
        message = protocol.structure_message(data)
    except JsonRpcException as error:  # invalid params, typically
        _refuse(server, request_id, error, f"skipped {data.get('method', 'a message')!s}: invalid params")
        return
    except Exception as error:  # noqa: BLE001 - a message pygls cannot take in
        _refuse(server, request_id, JsonRpcInternalError(str(error)), f"skipped {data.get('method', 'a message')!s}: {error}")
        return
    try:
        protocol.handle_message(message)
    except Exception as error:  # noqa: BLE001 - the next message must still be served
        log(server, f"could not handle {data.get('method', 'a message')!s}: {type(error).__name__}: {error}")


def _request_id(data: Any) -> Optional[Any]:
    """The id to answer, when `data` is a request (a method and a usable id)."""
    if not isinstance(data, dict) or "method" not in data:
        return None
    value = data.get("id")
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def _refuse(server: Any, request_id: Optional[Any], error: Any, why: str) -> None:
    if request_id is not None:
        try:
            server.protocol._send_response(request_id, error=error.to_response_error())
        except Exception as failure:  # noqa: BLE001 - logged below with the rest
            why += f" (and the error response failed: {failure})"
    log(server, why)


def log(server: Any, message: str) -> None:
    """A client's mistake, for the client's log (window/logMessage), never a pop-up."""
    try:
        from lsprotocol import types

        server.window_log_message(types.LogMessageParams(type=types.MessageType.Warning, message=f"initlint: {message}"))
    except Exception:  # noqa: BLE001 - no way to tell the client: stderr, its log too
        print(f"initlint lsp: {message}", file=sys.stderr)
