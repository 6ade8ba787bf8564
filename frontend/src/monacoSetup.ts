// Monaco from the bundled package (never a CDN), with its worker built by Vite.
import { loader } from "@monaco-editor/react";
import * as monaco from "monaco-editor/editor/editor.api";
import EditorWorker from "monaco-editor/editor/editor.worker?worker";
import "monaco-editor/languages/definitions/python/register";
import "monaco-editor/languages/definitions/yaml/register";
import "monaco-editor/languages/definitions/dockerfile/register";
import "monaco-editor/languages/definitions/markdown/register";
import "monaco-editor/languages/definitions/shell/register";
import "monaco-editor/languages/definitions/ini/register";
import "monaco-editor/languages/definitions/javascript/register";

(self as unknown as { MonacoEnvironment: object }).MonacoEnvironment = {
  getWorker: () => new EditorWorker(),
};

loader.config({ monaco: monaco as unknown as Parameters<typeof loader.config>[0]["monaco"] });

export { monaco };

const LANGUAGES: Record<string, string> = {
  py: "python", pyw: "python", yml: "yaml", yaml: "yaml", md: "markdown", sh: "shell", bash: "shell",
  toml: "ini", ini: "ini", cfg: "ini", js: "javascript", json: "javascript", txt: "plaintext",
};

export function languageOf(path: string): string {
  const name = path.split("/").pop() ?? "";
  if (name === "Dockerfile" || name.endsWith(".dockerfile")) return "dockerfile";
  const ext = name.includes(".") ? name.split(".").pop()!.toLowerCase() : "";
  return LANGUAGES[ext] ?? "plaintext";
}
