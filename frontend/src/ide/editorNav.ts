// Moving the IDE's one Monaco editor to a place (a search result, a traceback frame) and marking the problems
// of the last run, through Monaco's own API: markers are Monaco's (squiggles, hover, the overview ruler).
import { monaco } from "../monacoSetup";
import type { Problem } from "./navigation";

export const modelUri = (workspaceId: number, path: string) => `file:///w${workspaceId}/${path}`;

/** Once the editor shows `path` (the tab opens asynchronously: the file is read first), put the cursor at
 * `line`:`column`, scroll it to the middle and focus the editor. Gives up after `timeoutMs`. */
export function revealWhenShown(workspaceId: number, path: string, line: number, column = 1, timeoutMs = 10_000): void {
  const uri = modelUri(workspaceId, path);
  const until = Date.now() + timeoutMs;
  const attempt = () => {
    const editor = monaco.editor.getEditors().find((e) => e.getModel()?.uri.toString(true) === uri);
    if (editor) {
      const position = { lineNumber: line, column };
      editor.setPosition(position);
      editor.revealPositionInCenter(position);
      editor.focus();
    } else if (Date.now() < until) {
      setTimeout(attempt, 50);
    }
  };
  attempt();
}

const OWNER = "pyrun-run"; // the markers of the last run's traceback, apart from any language's own
let problems: { workspaceId: number; list: Problem[] } = { workspaceId: 0, list: [] };
let listening = false;

function apply(model: monaco.editor.ITextModel): void {
  const uri = model.uri.toString(true);
  const prefix = `file:///w${problems.workspaceId}/`;
  if (!uri.startsWith(prefix)) return;
  const path = uri.slice(prefix.length);
  const markers = problems.list
    .filter((p) => p.path === path && p.line <= model.getLineCount())
    .map((p) => ({
      severity: monaco.MarkerSeverity.Error,
      message: p.message,
      source: "last run",
      startLineNumber: p.line,
      startColumn: model.getLineFirstNonWhitespaceColumn(p.line) || 1,
      endLineNumber: p.line,
      endColumn: model.getLineMaxColumn(p.line),
    }));
  monaco.editor.setModelMarkers(model, OWNER, markers);
}

/** Mark these problems in the open files, and in files opened later; an empty list clears them (a new run). */
export function setRunProblems(workspaceId: number, list: Problem[]): void {
  problems = { workspaceId, list };
  if (!listening) {
    listening = true;
    monaco.editor.onDidCreateModel(apply);
  }
  for (const model of monaco.editor.getModels()) {
    monaco.editor.setModelMarkers(model, OWNER, []);
    apply(model);
  }
}
