"""The language server keeps serving whatever a client sends: a huge or wrong Content-Length,
bytes that are no message, JSON that is no JSON-RPC, a request or notification with invalid
params. Each is skipped or answered with an error response, logged (window/logMessage) and never
shown as an error pop-up (window/showMessage), and the next request is answered.

Driven over raw stdio (pygls's client would refuse to send most of this)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import BAD_SCRIPT, ROOT

pytest.importorskip("pygls", reason="pygls is not installed (pip install -e '.[lsp,test]')")

BAD = BAD_SCRIPT  # one IL001
TIMEOUT = 30


def frame(payload, length_delta: int = 0) -> bytes:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % (len(body) + length_delta) + body


class Client:
    """`python -m initlint lsp` on pipes; every message it sends, in order, on a queue."""

    def __init__(self, cwd: Path) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "initlint", "lsp"], cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.received: "queue.Queue[dict]" = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self.process.stderr.read, daemon=True).start()  # (never fills the pipe)

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                if line == b"\r\n":
                    break
            self.received.put(json.loads(stream.read(length)))

    def send(self, data: bytes) -> None:
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def request(self, id_: int, method: str, params) -> None:
        self.send(frame({"jsonrpc": "2.0", "id": id_, "method": method, "params": params}))

    def notify(self, method: str, params) -> None:
        self.send(frame({"jsonrpc": "2.0", "method": method, "params": params}))

    def wait_for(self, test, what: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                message = self.received.get(timeout=0.2)
            except queue.Empty:
                assert self.process.poll() is None, f"the server exited ({self.process.returncode}) while waiting for {what}"
                continue
            self.seen.append(message)
            if test(message):
                return message
        pytest.fail(f"no {what} within {TIMEOUT} s; got {[m.get('method', m.get('id')) for m in self.seen]}")

    def response(self, id_: int) -> dict:
        return self.wait_for(lambda m: m.get("id") == id_ and "method" not in m, f"response to {id_}")

    def probe(self, id_: int) -> None:
        """The server still answers: an unknown method gets its error response."""
        self.request(id_, "initlint/probe", {})
        assert self.response(id_)["error"]["code"] == -32601


@pytest.fixture
def client(tmp_path: Path):
    session = Client(tmp_path)
    session.request(1, "initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
    session.response(1)
    session.notify("initialized", {})
    yield session
    if session.process.poll() is None:
        session.process.kill()
    session.process.wait(10)


def _open(client: Client, path: Path, text: str) -> dict:
    uri = path.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}})
    return client.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri, f"diagnostics for {path.name}")


HOSTILE = {
    "huge-content-length": b"Content-Length: 999999999999999999\r\n\r\n" + b"{" * 5000,
    "length-too-long": frame({"jsonrpc": "2.0", "method": "x"}, +40),
    "length-too-short": frame({"jsonrpc": "2.0", "id": 7, "method": "initlint/probe", "params": {}}, -12),
    "no-content-length": b"Content-Type: application/json\r\n\r\n{\"jsonrpc\": \"2.0\"}",
    "garbage": b"\x00\xff\xfe garbage \r\n\r\n GET / HTTP/1.1\r\n\r\n",
    "not-utf8": frame(b'{"jsonrpc": "2.0", "method": "\xff\xfe"}'),
    "not-json": frame(b"{this is not json"),
    "deep-json": frame(b"[" * 100_000),
    "not-an-object": frame([1, 2, 3]),
    "no-jsonrpc": frame({"id": 9, "method": "textDocument/codeAction"}),
    "notification-invalid-params": frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": 5}}}),
    "notification-unknown-document": frame(
        {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": "file:///nowhere/x.py", "version": 2}, "contentChanges": [{"text": "x"}]}}
    ),
}


def test_the_server_keeps_answering_after_each_mistake(client: Client, tmp_path: Path):
    for number, (name, data) in enumerate(HOSTILE.items(), start=100):
        client.send(data)
        if name == "length-too-long":
            time.sleep(0.3)  # the next message comes later: the server must not wait for the missing bytes
        client.probe(number)
    published = _open(client, tmp_path / "model.py", BAD)
    assert [d["code"] for d in published["params"]["diagnostics"]] == ["IL001"]
    logged = [m for m in client.seen if m.get("method") == "window/logMessage"]
    assert len(logged) >= len(HOSTILE) - 2  # (a garbage run and the message after it may be one entry)
    assert not [m for m in client.seen if m.get("method") == "window/showMessage"]


def test_a_request_with_invalid_params_gets_an_error_response(client: Client, tmp_path: Path):
    client.request(20, "textDocument/codeAction", {"textDocument": 5, "range": "everything", "context": None})
    assert client.response(20)["error"]["code"] == -32602  # invalid params
    client.request(21, "textDocument/codeAction", [1, 2])
    assert "error" in client.response(21)
    client.request(22, "textDocument/codeAction", {
        "textDocument": {"uri": (tmp_path / "never_opened.py").as_uri()},
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
        "context": {"diagnostics": []},
    })
    client.response(22)  # a result or an error, but an answer
    client.probe(23)
    assert not [m for m in client.seen if m.get("method") == "window/showMessage"]


def test_the_server_still_shuts_down_cleanly(client: Client):
    client.send(HOSTILE["not-json"] + HOSTILE["notification-invalid-params"])
    client.request(30, "shutdown", None)
    client.response(30)
    client.notify("exit", None)
    assert client.process.wait(TIMEOUT) == 0
