// `?`: the IDE's keyboard shortcuts.
import { useEffect, useRef } from "react";

export const SHORTCUTS: [string, string][] = [
  ["Ctrl/Cmd+P", "Go to a file of the workspace"],
  ["Ctrl/Cmd+Shift+F", "Search in all files"],
  ["Ctrl/Cmd+S", "Save the file"],
  ["Ctrl/Cmd+Enter", "Run the entrypoint"],
  ["Ctrl/Cmd+F", "Find in the file (in the editor); in the Output panel's search field: find in the output"],
  ["Ctrl/Cmd+H", "Replace in the file (in the editor)"],
  ["F1", "The editor's commands"],
  ["F8 / Shift+F8", "Next / previous problem of the last run (in the editor)"],
  ["Enter, F2, Delete", "Open, rename, delete the selected entry (file tree)"],
  ["?", "This help (outside an editor or a field)"],
  ["Esc", "Close a dialog or the search"],
];

export function ShortcutHelp({ onClose }: { onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="shortcut-help-title" onCancel={(e) => (e.preventDefault(), onClose())}>
      <h2 id="shortcut-help-title" style={{ marginTop: 0 }}>
        Keyboard shortcuts
      </h2>
      <table className="shortcuts">
        <tbody>
          {SHORTCUTS.map(([keys, what]) => (
            <tr key={keys}>
              <th scope="row">
                <kbd>{keys}</kbd>
              </th>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row">
        <button className="primary" autoFocus onClick={onClose}>
          Close
        </button>
      </div>
    </dialog>
  );
}
