// Run options of a workspace's entrypoint: arguments and environment variables sent with each Run.
//
// What is remembered where: the arguments (as typed) and the variables' NAMES stay in localStorage, per workspace
// and entrypoint, for the next visit. Values may be secrets (API keys): they are kept in this page's memory only,
// never in storage, and never rendered back after they are saved; a reload leaves the names "not set". The server
// stores a run's values encrypted and shows only their names (`env_names`).
import { useCallback, useMemo, useReducer } from "react";

/** Split a shell-like string into arguments with Python's `shlex.split` rules (POSIX mode, no comments):
 * whitespace separates words; '…' keeps everything literally; "…" keeps everything but `\"` and `\\`; outside
 * quotes a backslash escapes the next character. Throws on an unclosed quote or a trailing backslash. */
export function splitArgs(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      i += 1;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error("a ' has no closing '");
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      inWord = true;
      i += 1;
      for (;;) {
        if (i >= text.length) throw new Error('a " has no closing "');
        const d = text[i];
        if (d === '"') break;
        if (d === "\\" && (text[i + 1] === '"' || text[i + 1] === "\\")) {
          word += text[i + 1];
          i += 2;
        } else {
          word += d;
          i += 1;
        }
      }
      i += 1;
    } else if (c === "\\") {
      if (i + 1 >= text.length) throw new Error("a \\ at the end escapes nothing");
      word += text[i + 1];
      inWord = true;
      i += 2;
    } else {
      word += c;
      inWord = true;
      i += 1;
    }
  }
  if (inWord) words.push(word);
  return words;
}

// The server's rules (jobs/services.py clean_env, pyrun_web/sandbox/env_policy.py), checked here too so a name is
// refused as it is typed; the server stays the judge (job:user:bad-env).
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = new Set([
  "HOME", "TMPDIR", "PATH", "PWD", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUNBUFFERED",
  "PYTHONNOUSERSITE", "PYTHONSAFEPATH", "LITHOPS_CONFIG",
]); // prettier-ignore
const RESERVED_PREFIXES = ["DASK_", "LITHOPS_", "PYRUN_", "AWS_"];

/** Why `name` cannot be a run's variable, or null when it can. */
export function envNameProblem(name: string): string | null {
  if (!NAME.test(name) || name.length > 128) {
    return "a name is letters, digits and _ and does not start with a digit";
  }
  if (RESERVED.has(name) || RESERVED_PREFIXES.some((prefix) => name.startsWith(prefix))) {
    return "the platform sets it for every job";
  }
  if (name.startsWith("LD_") && name !== "LD_LIBRARY_PATH") {
    return "it changes how the dynamic loader of every program behaves";
  }
  return null;
}

interface Saved {
  args: string;
  names: string[];
}

const storageKey = (workspaceId: number, entrypoint: string) => `pyrun.runopts.${workspaceId}.${entrypoint}`;

function load(key: string): Saved {
  try {
    const data = JSON.parse(localStorage.getItem(key) ?? "null");
    if (data && typeof data.args === "string" && Array.isArray(data.names)) {
      return { args: data.args, names: data.names.filter((n: unknown) => typeof n === "string") };
    }
  } catch {
    // unreadable or refused storage: start empty
  }
  return { args: "", names: [] };
}

function store(key: string, saved: Saved): void {
  try {
    localStorage.setItem(key, JSON.stringify(saved));
  } catch {
    // storage refused (private mode, quota): the options last this visit only
  }
}

// Values, by storage key then name: this page's memory only.
const values = new Map<string, Map<string, string>>();

export interface RunOptionsState {
  args: string;
  setArgs: (text: string) => void;
  /** The variables' names, in the order they were added. */
  names: string[];
  isSet: (name: string) => boolean;
  /** Add a variable or replace its value. */
  setValue: (name: string, value: string) => void;
  remove: (name: string) => void;
  /** What Run sends: the split arguments and the variables that have a value. Throws if the arguments do not
   * split. */
  request: () => { args: string[]; env: Record<string, string> };
  /** How many arguments and variables Run sends (for the button's badge). */
  count: number;
  /** Remembered names without a value in this page (a reload forgets values): Run does not send them. */
  unset: string[];
}

export function useRunOptions(workspaceId: number, entrypoint: string): RunOptionsState {
  const key = storageKey(workspaceId, entrypoint);
  const [version, changed] = useReducer((n: number) => n + 1, 0);
  const saved = useMemo(() => load(key), [key, version]); // read again after each change
  const own = useMemo(() => {
    if (!values.has(key)) values.set(key, new Map());
    return values.get(key)!;
  }, [key]);

  const update = useCallback(
    (next: Saved) => {
      store(key, next);
      changed();
    },
    [key],
  );
  const setArgs = useCallback((text: string) => update({ ...load(key), args: text }), [key, update]);
  const setValue = useCallback(
    (name: string, value: string) => {
      own.set(name, value);
      const current = load(key);
      update(current.names.includes(name) ? current : { ...current, names: [...current.names, name] });
    },
    [key, own, update],
  );
  const remove = useCallback(
    (name: string) => {
      own.delete(name);
      const current = load(key);
      update({ ...current, names: current.names.filter((n) => n !== name) });
    },
    [key, own, update],
  );
  const request = useCallback(() => {
    const current = load(key);
    const env: Record<string, string> = {};
    for (const name of current.names) {
      const value = own.get(name);
      if (value !== undefined) env[name] = value;
    }
    return { args: splitArgs(current.args), env };
  }, [key, own]);

  let argCount = 0;
  try {
    argCount = splitArgs(saved.args).length;
  } catch {
    argCount = 0;
  }
  return {
    args: saved.args,
    setArgs,
    names: saved.names,
    isSet: (name) => own.has(name),
    setValue,
    remove,
    request,
    count: argCount + saved.names.filter((name) => own.has(name)).length,
    unset: saved.names.filter((name) => !own.has(name)),
  };
}
