// Smoke test without VS Code: a stand-in `vscode` module, then the real extension and the real
// vscode-languageclient start `initlint lsp` (from PATH, or INITLINT_PATH), complete the LSP
// handshake, and stop. It checks that the extension activates, that the server it starts is
// initlint's, and that the server offers what the extension relies on (text and notebook sync,
// code actions). Exit 0 on success; any failure prints why and exits 1.
"use strict";

const assert = require("assert");
const Module = require("module");
const path = require("path");

// ---- a stand-in for the `vscode` API: anything not defined here is a no-op ------------------
function anything(name) {
  const fn = function () {
    return anything(`${name}()`);
  };
  return new Proxy(fn, {
    get(target, key) {
      if (key === Symbol.toPrimitive) return () => name;
      if (key === "then") return undefined; // not a promise
      if (key === "dispose") return () => {};
      if (!(key in target)) target[key] = anything(`${name}.${String(key)}`);
      return target[key];
    },
    construct() {
      return anything(`new ${name}`);
    },
  });
}

class EventEmitter {
  constructor() {
    this.listeners = [];
    this.event = (listener) => {
      this.listeners.push(listener);
      return { dispose: () => {} };
    };
  }
  fire(value) {
    this.listeners.forEach((listener) => listener(value));
  }
  dispose() {}
}

class Disposable {
  constructor(callback) {
    this.callback = callback;
  }
  static from(...items) {
    return new Disposable(() => items.forEach((item) => item && item.dispose && item.dispose()));
  }
  dispose() {
    if (this.callback) this.callback();
  }
}

const event = () => ({ dispose() {} });
const settings = { path: process.env.INITLINT_PATH || "initlint" };
const output = { appendLine() {}, append() {}, show() {}, dispose() {}, replace() {}, clear() {}, hide() {}, name: "initlint" };
const vscode = new Proxy(
  {
    version: "1.90.0",
    EventEmitter,
    Disposable,
    workspace: new Proxy(
      {
        workspaceFolders: undefined,
        textDocuments: [],
        notebookDocuments: [],
        getConfiguration: () => ({ get: (key, fallback) => (key in settings ? settings[key] : fallback) }),
        onDidOpenTextDocument: event,
        onDidChangeTextDocument: event,
        onDidCloseTextDocument: event,
        onDidSaveTextDocument: event,
        onWillSaveTextDocument: event,
        onDidOpenNotebookDocument: event,
        onDidChangeNotebookDocument: event,
        onDidCloseNotebookDocument: event,
        onDidSaveNotebookDocument: event,
        onDidChangeConfiguration: event,
        onDidChangeWorkspaceFolders: event,
        onDidCreateFiles: event,
        onDidRenameFiles: event,
        onDidDeleteFiles: event,
        onWillCreateFiles: event,
        onWillRenameFiles: event,
        onWillDeleteFiles: event,
      },
      { get: (target, key) => (key in target ? target[key] : anything(`workspace.${String(key)}`)) },
    ),
    window: new Proxy(
      {
        createOutputChannel: () => output,
        activeTextEditor: undefined,
        visibleTextEditors: [],
        onDidChangeActiveTextEditor: event,
        onDidChangeVisibleTextEditors: event,
        showErrorMessage: (...args) => Promise.reject(new Error(`error shown to the user: ${args[0]}`)),
      },
      { get: (target, key) => (key in target ? target[key] : anything(`window.${String(key)}`)) },
    ),
    languages: new Proxy(
      { createDiagnosticCollection: () => ({ set() {}, delete() {}, clear() {}, dispose() {}, forEach() {} }), onDidChangeDiagnostics: event },
      { get: (target, key) => (key in target ? target[key] : anything(`languages.${String(key)}`)) },
    ),
    extensions: { getExtension: () => undefined, all: [], onDidChange: event },
    env: { language: "en", appName: "stand-in", machineId: "0", sessionId: "0", uriScheme: "vscode" },
  },
  { get: (target, key) => (key in target ? target[key] : anything(String(key))) },
);

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === "vscode" ? "vscode" : resolve.call(this, request, ...rest);
};
require.cache.vscode = { id: "vscode", filename: "vscode", loaded: true, exports: vscode };

// ---- the test -----------------------------------------------------------------------------
async function main() {
  const pkg = require(path.join(__dirname, "..", "package.json"));
  assert.ok(pkg.activationEvents.includes("onLanguage:python"), "activates on Python files");
  assert.strictEqual(pkg.main, "./extension.js");
  const extension = require(path.join(__dirname, "..", pkg.main));
  const context = { subscriptions: [], extensionPath: path.join(__dirname, "..") };
  const timer = setTimeout(() => {
    console.error("timed out waiting for the language server");
    process.exit(1);
  }, 60000);
  const client = await extension.activate(context);
  const result = client.initializeResult;
  assert.ok(result, "the server answered initialize");
  assert.strictEqual(result.serverInfo.name, "initlint");
  const capabilities = result.capabilities;
  assert.ok(capabilities.textDocumentSync, "text document sync");
  assert.ok(capabilities.codeActionProvider, "code actions (quick fixes)");
  assert.ok(capabilities.notebookDocumentSync, "notebook document sync");
  await extension.deactivate();
  clearTimeout(timer);
  console.log(`ok: the extension started ${result.serverInfo.name} ${result.serverInfo.version} and stopped it`);
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
});
