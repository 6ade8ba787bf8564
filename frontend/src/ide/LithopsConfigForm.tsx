// How Run executes this workspace: default executor and Lithops settings (workspaces/{id}/config/).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api } from "../api/endpoints";
import { keys, queries, useBackendNames } from "../api/queries";
import type { ExecutionSettings } from "../api/types";
import { useApp } from "../app";
import { ErrorBanner, FormRow } from "../components";

const CHOICES: Partial<Record<keyof ExecutionSettings, readonly string[]>> = {
  backend: ["localhost", "aws_lambda"],
  storage: ["localhost", "aws_s3"],
  log_level: ["DEBUG", "INFO", "WARNING", "ERROR"],
};

const FIELDS: { name: keyof ExecutionSettings; label: string; help: string; type?: "number" }[] = [
  { name: "default_executor", label: "Default executor", help: "What Run uses when no backend is picked." },
  { name: "backend", label: "Lithops compute backend", help: "localhost: local processes; aws_lambda: the org's AWS account." },
  { name: "storage", label: "Lithops storage", help: "aws_s3 needs a bucket (here or on the cloud account)." },
  { name: "runtime_memory", label: "Memory per task (MB)", help: "128–10240.", type: "number" },
  { name: "runtime_timeout", label: "Timeout per task (s)", help: "At most 900 on aws_lambda.", type: "number" },
  { name: "workers", label: "Workers", help: "Empty: the backend's default.", type: "number" },
  { name: "log_level", label: "Lithops log level", help: "" },
  { name: "storage_bucket", label: "S3 bucket", help: "Empty: the cloud account's bucket." },
  { name: "lambda_execution_role", label: "Lambda execution role ARN", help: "arn:aws:iam::123456789012:role/name" },
  { name: "dask_scheduler_address", label: "Dask scheduler address", help: "For dask-scheduler, e.g. tcp://scheduler:8786." },
];

// The stored choice stays visible even when the list does not offer it (still loading, or a backend the operator
// removed since), so the form never silently shows another value than the one saved.
function withCurrent(choices: string[], current: unknown): string[] {
  const value = String(current ?? "");
  return value && !choices.includes(value) ? [value, ...choices] : choices;
}

export function LithopsConfigForm({ workspaceId, readOnly }: { workspaceId: number; readOnly: boolean }) {
  const { notify } = useApp();
  const client = useQueryClient();
  const stored = useQuery(queries.config(workspaceId));
  const backends = useBackendNames();
  // The user's edits until saved; the stored settings until the first edit.
  const [draft, setDraft] = useState<ExecutionSettings | null>(null);
  const settings = draft ?? stored.data ?? null;
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function save(event: FormEvent) {
    event.preventDefault();
    if (!settings) return;
    setBusy(true);
    setError(null);
    try {
      client.setQueryData(keys.config(workspaceId), await api.saveConfig(workspaceId, settings));
      setDraft(null);
      notify("Execution settings saved.");
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  if (!settings) return <p className="empty">{stored.error?.message ?? "Loading…"}</p>;
  const set = (name: keyof ExecutionSettings, value: string) =>
    setDraft({
      ...settings,
      [name]:
        FIELDS.find((f) => f.name === name)?.type === "number" ? (value === "" ? null : Number(value)) : value,
    });
  return (
    <form onSubmit={save} style={{ padding: 12 }} aria-label="Lithops configuration">
      <fieldset disabled={readOnly || busy} style={{ border: "none", padding: 0 }}>
        <div className="form-grid">
          {FIELDS.map((field) => {
            const id = `cfg-${field.name}`;
            const value = settings[field.name];
            const choices = field.name === "default_executor" ? withCurrent(backends, value) : CHOICES[field.name];
            return (
              <FormRow key={field.name} id={id} label={field.label} help={field.help}>
                {choices ? (
                  <select id={id} value={String(value)} onChange={(e) => set(field.name, e.target.value)}>
                    {choices.map((c) => (
                      <option key={c}>{c}</option>
                    ))}
                  </select>
                ) : (
                  <input
                    id={id}
                    type={field.type ?? "text"}
                    value={value === null ? "" : String(value)}
                    onChange={(e) => set(field.name, e.target.value)}
                  />
                )}
              </FormRow>
            );
          })}
        </div>
        <ErrorBanner error={error} />
        <p>
          <button className="primary" type="submit">
            Save settings
          </button>
        </p>
      </fieldset>
    </form>
  );
}
