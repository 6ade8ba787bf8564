// What the file tree's menus do: new file/folder, rename, delete, drag to a folder, upload. Each asks what it
// needs in the IDE's dialog, says a failure in a toast and refreshes the tree.
import { api } from "../../api/endpoints";
import type { Question } from "../AskDialog";

export interface FileOpsOptions {
  ask: (question: Question) => Promise<string | null>;
  notify: (text: string, options?: { kind?: "info" | "fail" }) => void;
  refreshTree: () => void;
  openFile: (path: string) => void;
  moved: (from: string, to: string) => void;
  removed: (path: string) => void;
}

export function useFileOps(workspaceId: number, { ask, notify, refreshTree, openFile, moved, removed }: FileOpsOptions) {
  const attempt = async (action: () => Promise<unknown>) => {
    try {
      await action();
      refreshTree();
    } catch (e) {
      notify((e as Error).message, { kind: "fail" });
    }
  };
  const move = (from: string, to: string) =>
    attempt(async () => {
      await api.move(workspaceId, from, to);
      moved(from, to);
    });

  return {
    async create(folder: string, kind: "file" | "dir") {
      const where = folder ? ` in ${folder}/` : "";
      const name = await ask({
        title: kind === "file" ? `New file${where}` : `New folder${where}`,
        value: kind === "file" ? "new.py" : "folder",
        confirm: "Create",
      });
      if (!name) return;
      const path = folder ? `${folder}/${name}` : name;
      await attempt(async () => {
        if (kind === "dir") await api.mkdir(workspaceId, path);
        else {
          await api.writeFile(workspaceId, path, "", { createOnly: true });
          openFile(path);
        }
      });
    },
    async rename(path: string) {
      const to = await ask({
        title: `Rename ${path}`,
        detail: "The new path in the workspace (a folder in it moves the file there).",
        value: path,
        confirm: "Rename",
      });
      if (to && to !== path) await move(path, to);
    },
    async remove(path: string) {
      if ((await ask({ title: `Delete ${path}?`, confirm: "Delete", danger: true })) === null) return;
      await attempt(async () => {
        await api.deletePath(workspaceId, path);
        removed(path);
      });
    },
    async move(from: string, folder: string) {
      const name = from.split("/").pop()!;
      const to = folder ? `${folder}/${name}` : name;
      if (to !== from) await move(from, to);
    },
    async upload(folder: string, files: File[]) {
      await attempt(async () => {
        const written = await api.upload(workspaceId, folder, files);
        notify(`Uploaded ${written.length} file(s) to /${folder}`);
      });
    },
  };
}
