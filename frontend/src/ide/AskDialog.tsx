// In-app questions for the IDE (a name for a new file, a path to rename to, "delete this?"): a modal <dialog>
// with the page's theme and keyboard, instead of the browser's prompt()/confirm(), which block the page and
// cannot be styled or labelled.
import { useCallback, useEffect, useRef, useState, type FormEvent, type ReactElement } from "react";

export interface Question {
  title: string;
  // With a value, the dialog has a text field starting with it; without, it is a yes/no question.
  value?: string;
  detail?: string;
  confirm: string; // the confirming button's label, e.g. "Create", "Rename", "Delete"
  danger?: boolean;
}

type Pending = Question & { resolve: (answer: string | null) => void };

/** ``ask(question)`` resolves with the text entered (or "" for a yes/no question) or null when cancelled;
 * render ``dialog`` somewhere in the component. */
export function useAsk(): [(question: Question) => Promise<string | null>, ReactElement | null] {
  const [pending, setPending] = useState<Pending | null>(null);
  const ask = useCallback(
    (question: Question) => new Promise<string | null>((resolve) => setPending({ ...question, resolve })),
    [],
  );
  const finish = (answer: string | null) => {
    pending?.resolve(answer);
    setPending(null);
  };
  return [ask, pending ? <AskDialog question={pending} onDone={finish} /> : null];
}

function AskDialog(props: { question: Question; onDone: (answer: string | null) => void }) {
  const { question, onDone } = props;
  const ref = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const [value, setValue] = useState(question.value ?? "");
  const hasField = question.value !== undefined;

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    const field = input.current;
    if (field) {
      // As editors do: the name is selected without its extension, ready to be typed over.
      const base = field.value.lastIndexOf("/") + 1;
      const dot = field.value.lastIndexOf(".");
      field.focus();
      field.setSelectionRange(base, dot > base ? dot : field.value.length);
    }
  }, []);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const answer = hasField ? value.trim() : "";
    if (hasField && !answer) return;
    onDone(answer);
  };

  return (
    <dialog ref={ref} aria-labelledby="ask-title" onCancel={(e) => (e.preventDefault(), onDone(null))}>
      <form onSubmit={submit}>
        <h2 id="ask-title" style={{ marginTop: 0 }}>
          {question.title}
        </h2>
        {question.detail && <p>{question.detail}</p>}
        {hasField && (
          <input
            ref={input}
            aria-label={question.title}
            value={value}
            onChange={(e) => setValue(e.target.value)}
            spellCheck={false}
            style={{ width: "100%", boxSizing: "border-box", marginBottom: "0.8rem" }}
          />
        )}
        <div className="row">
          <button type="submit" className={question.danger ? "danger" : "primary"} autoFocus={!hasField}>
            {question.confirm}
          </button>
          <button type="button" onClick={() => onDone(null)}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
