// Saving a file someone else saved after it was opened (HTTP 412): keep mine, load theirs, or keep editing.
import { useEffect, useRef } from "react";

export interface ConflictDialogProps {
  path: string;
  onOverwrite: () => void;
  onReload: () => void;
  onCancel: () => void;
}

export function ConflictDialog(props: ConflictDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="conflict-title" onCancel={props.onCancel}>
      <h2 id="conflict-title" style={{ marginTop: 0 }}>
        {props.path} changed on the server
      </h2>
      <p>Someone (or another tab) saved this file after you opened it. Which version do you want to keep?</p>
      <div className="row">
        <button className="primary" onClick={props.onOverwrite}>
          Overwrite with mine
        </button>
        <button onClick={props.onReload}>Discard mine, load theirs</button>
        <button onClick={props.onCancel} autoFocus>
          Keep editing
        </button>
      </div>
    </dialog>
  );
}
