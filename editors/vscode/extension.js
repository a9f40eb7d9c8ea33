// initlint's language server (`initlint lsp`) in VS Code: diagnostics as you type and quick
// fixes, in Python files and in the Python cells of Jupyter notebooks.
const path = require("path");
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function serverCommand() {
  const configured = vscode.workspace.getConfiguration("initlint").get("path") || "initlint";
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  // A relative path with a separator (.venv/bin/initlint) is the workspace's; a bare name is looked up on PATH.
  if (folder && configured.includes("/") && !path.isAbsolute(configured)) {
    return path.join(folder.uri.fsPath, configured);
  }
  return configured;
}

exports.activate = async function activate(context) {
  client = new LanguageClient(
    "initlint",
    "initlint",
    { command: serverCommand(), args: ["lsp"] },
    {
      documentSelector: [
        { scheme: "file", language: "python" },
        { notebook: "*", language: "python" },
      ],
    },
  );
  context.subscriptions.push(client);
  await client.start();
  return client;
};

exports.deactivate = function deactivate() {
  return client ? client.stop() : undefined;
};
