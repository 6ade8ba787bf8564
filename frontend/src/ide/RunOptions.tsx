// The Run bar's "Options" popover: the entrypoint's arguments (a shell-like line) and environment variables. A
// variable shows its name and whether it has a value ("set" / "not set"), never the value: a value is typed into a
// password field that is emptied once it is saved, and can be replaced or the variable deleted.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { envNameProblem, splitArgs, type RunOptionsState } from "./runOptions";

export interface RunOptionsProps {
  options: RunOptionsState;
  entrypoint: string;
  disabled?: boolean;
}

export function RunOptions({ options, entrypoint, disabled }: RunOptionsProps) {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);

  // Escape or a click outside closes it.
  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => event.key === "Escape" && setOpen(false);
    const onDown = (event: MouseEvent) => {
      if (box.current && !box.current.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("mousedown", onDown);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("mousedown", onDown);
    };
  }, [open]);

  return (
    <div className="run-options" ref={box}>
      <button
        aria-haspopup="dialog"
        aria-expanded={open}
        disabled={disabled}
        onClick={() => setOpen(!open)}
        title="Arguments and environment variables of this entrypoint's runs"
      >
        Options{options.count ? ` (${options.count})` : ""}
        {options.unset.length > 0 && (
          <span className="fail" title={`No value in this page, not sent: ${options.unset.join(", ")}`}>
            {" "}
            · {options.unset.length} not set
          </span>
        )}
      </button>
      {open && <Popover options={options} entrypoint={entrypoint} />}
    </div>
  );
}

function Popover({ options, entrypoint }: { options: RunOptionsState; entrypoint: string }) {
  let parsed: string[] | null = null;
  let argsProblem = "";
  try {
    parsed = splitArgs(options.args);
  } catch (e) {
    argsProblem = (e as Error).message;
  }
  return (
    <div className="run-options-popover" role="dialog" aria-label="Run options">
      <label>
        Arguments of {entrypoint}
        <input
          aria-label="Arguments"
          value={options.args}
          spellCheck={false}
          placeholder={'--n 3 "two words"'}
          onChange={(e) => options.setArgs(e.target.value)}
        />
      </label>
      {argsProblem ? (
        <p role="alert" className="fail">
          The arguments do not split: {argsProblem}.
        </p>
      ) : (
        <p className="muted" aria-label="Arguments as sent">
          Split like a shell (quotes group words): {parsed!.length ? parsed!.map((a) => JSON.stringify(a)).join(" ") : "none"}
        </p>
      )}
      <table aria-label="Environment variables">
        <tbody>
          {options.names.map((name) => (
            <Variable key={name} name={name} options={options} />
          ))}
        </tbody>
      </table>
      <AddVariable options={options} />
      <p className="muted">
        Names and arguments are remembered in this browser; values only until the page is reloaded. A run keeps its
        values encrypted and shows only their names.
      </p>
    </div>
  );
}

function Variable({ name, options }: { name: string; options: RunOptionsState }) {
  const [value, setValue] = useState("");
  const set = options.isSet(name);
  const save = (event: FormEvent) => {
    event.preventDefault();
    options.setValue(name, value);
    setValue(""); // never shown again
  };
  return (
    <tr data-name={name}>
      <th scope="row">
        <code>{name}</code>
      </th>
      <td className={set ? "ok" : "fail"}>{set ? "set" : "not set (not sent)"}</td>
      <td>
        <form onSubmit={save}>
          <input
            type="password"
            autoComplete="off"
            aria-label={`New value of ${name}`}
            placeholder={set ? "replace value" : "value"}
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
          <button type="submit">{set ? "Replace" : "Set"}</button>
        </form>
      </td>
      <td>
        <button type="button" aria-label={`Delete ${name}`} onClick={() => options.remove(name)}>
          ✕
        </button>
      </td>
    </tr>
  );
}

function AddVariable({ options }: { options: RunOptionsState }) {
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const [problem, setProblem] = useState("");
  const add = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    const why = envNameProblem(trimmed);
    if (why) {
      setProblem(`${trimmed || "(empty)"} cannot be set: ${why}.`);
      return;
    }
    options.setValue(trimmed, value);
    setName("");
    setValue(""); // never shown again
    setProblem("");
  };
  return (
    <form className="run-options-add" onSubmit={add}>
      <input aria-label="Variable name" placeholder="NAME" spellCheck={false} value={name} onChange={(e) => setName(e.target.value)} />
      <input
        type="password"
        autoComplete="off"
        aria-label="Variable value"
        placeholder="value"
        value={value}
        onChange={(e) => setValue(e.target.value)}
      />
      <button type="submit">Add variable</button>
      {problem && (
        <p role="alert" className="fail">
          {problem}
        </p>
      )}
    </form>
  );
}
