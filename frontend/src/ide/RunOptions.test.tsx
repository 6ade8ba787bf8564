import { act } from "react";
import { click, render } from "../testing/render";
import { RunOptions } from "./RunOptions";
import { splitArgs, useRunOptions, type RunOptionsState } from "./runOptions";

// Types into a React-controlled field as a user would: the value through the native setter, then an input event.
async function type(input: Element | null, text: string) {
  if (!input) throw new Error("no such field");
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")!.set!;
  await act(async () => {
    setter.call(input, text);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

async function submit(form: Element | null) {
  if (!form) throw new Error("no such form");
  await act(async () => {
    form.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  });
}

let latest: RunOptionsState;
function Harness({ workspace = 7, entrypoint = "main.py" }: { workspace?: number; entrypoint?: string }) {
  latest = useRunOptions(workspace, entrypoint);
  return <RunOptions options={latest} entrypoint={entrypoint} />;
}

afterEach(() => {
  document.body.innerHTML = "";
  localStorage.clear();
});

it("splits arguments as Python's shlex.split does", () => {
  expect(splitArgs(`--n 3 "two words" 'it'"'"'s' a\\ b "x\\"y\\\\" '' "$HOME"`)).toEqual([
    "--n", "3", "two words", "it's", "a b", 'x"y\\', "", "$HOME",
  ]); // prettier-ignore
  expect(splitArgs("  spaced\t\tout \n")).toEqual(["spaced", "out"]);
  expect(splitArgs("")).toEqual([]);
  expect(() => splitArgs('"open')).toThrow('a " has no closing "');
  expect(() => splitArgs("it's")).toThrow("a ' has no closing '");
  expect(() => splitArgs("end\\")).toThrow("escapes nothing");
});

it("sends arguments and variables, shows a saved value as 'set' only and never stores it", async () => {
  const { container } = await render(<Harness />);
  await click(container.querySelector('button[aria-haspopup="dialog"]'));
  const dialog = container.querySelector('[role="dialog"][aria-label="Run options"]')!;
  expect(dialog).not.toBeNull();

  await type(dialog.querySelector('input[aria-label="Arguments"]'), `--name "Ada Lovelace" -v`);
  expect(dialog.querySelector('[aria-label="Arguments as sent"]')!.textContent).toContain(`"--name" "Ada Lovelace" "-v"`);

  await type(dialog.querySelector('input[aria-label="Variable name"]'), "API_TOKEN");
  await type(dialog.querySelector('input[aria-label="Variable value"]'), "s3cret-value");
  await submit(dialog.querySelector("form.run-options-add"));

  const row = dialog.querySelector('tr[data-name="API_TOKEN"]')!;
  expect(row.textContent).toContain("set");
  expect(row.textContent).not.toContain("not set");
  // The value is nowhere in the page (not even in a field's value) nor in storage; the name and arguments are.
  expect(container.innerHTML).not.toContain("s3cret-value");
  for (const input of container.querySelectorAll("input")) expect(input.value).not.toContain("s3cret-value");
  const stored = localStorage.getItem("pyrun.runopts.7.main.py")!;
  expect(stored).not.toContain("s3cret-value");
  expect(JSON.parse(stored)).toEqual({ args: `--name "Ada Lovelace" -v`, names: ["API_TOKEN"] });
  expect(container.querySelector('button[aria-haspopup="dialog"]')!.textContent).toBe("Options (4)");

  expect(latest.request()).toEqual({ args: ["--name", "Ada Lovelace", "-v"], env: { API_TOKEN: "s3cret-value" } });

  // Replace the value, then delete the variable.
  await type(row.querySelector('input[aria-label="New value of API_TOKEN"]'), "other");
  await submit(row.querySelector("form"));
  expect(latest.request().env).toEqual({ API_TOKEN: "other" });
  await click(row.querySelector('button[aria-label="Delete API_TOKEN"]'));
  expect(dialog.querySelector('tr[data-name="API_TOKEN"]')).toBeNull();
  expect(latest.request().env).toEqual({});
});

it("refuses names the platform sets or that are not names, and bad quoting", async () => {
  const { container } = await render(<Harness workspace={8} />);
  await click(container.querySelector('button[aria-haspopup="dialog"]'));
  const dialog = container.querySelector('[role="dialog"]')!;
  for (const [name, why] of [
    ["PATH", "the platform sets it"],
    ["PYRUN_X", "the platform sets it"],
    ["LD_PRELOAD", "it changes how the dynamic loader"],
    ["1BAD", "a name is letters, digits and _"],
    ["A-B", "a name is letters, digits and _"],
  ]) {
    await type(dialog.querySelector('input[aria-label="Variable name"]'), name);
    await submit(dialog.querySelector("form.run-options-add"));
    expect(dialog.querySelector('[role="alert"]')!.textContent).toContain(`${name} cannot be set: ${why}`);
  }
  expect(latest.names).toEqual([]);

  await type(dialog.querySelector('input[aria-label="Arguments"]'), `"unclosed`);
  expect(dialog.querySelector('[role="alert"]')!.textContent).toContain("do not split");
  expect(() => latest.request()).toThrow();
});

it("remembers arguments and names per entrypoint; a value without this page's memory is 'not set'", async () => {
  localStorage.setItem("pyrun.runopts.9.job.py", JSON.stringify({ args: "--fast", names: ["FROM_LAST_VISIT"] }));
  const { container, rerender } = await render(<Harness workspace={9} entrypoint="main.py" />);
  expect(latest.args).toBe("");
  await rerender(<Harness workspace={9} entrypoint="job.py" />);
  expect(latest.args).toBe("--fast");
  await click(container.querySelector('button[aria-haspopup="dialog"]'));
  expect(container.querySelector('tr[data-name="FROM_LAST_VISIT"]')!.textContent).toContain("not set");
  expect(container.querySelector('button[aria-haspopup="dialog"]')!.textContent).toBe("Options (1) · 1 not set");
  expect(latest.unset).toEqual(["FROM_LAST_VISIT"]);
  expect(latest.request()).toEqual({ args: ["--fast"], env: {} }); // not sent without a value
});
