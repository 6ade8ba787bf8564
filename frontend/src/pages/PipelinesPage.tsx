// Pre-built end-to-end apps: launch one into a new workspace and watch its run in the IDE.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router-dom";
import { api } from "../api/endpoints";
import { queries, useBackendNames } from "../api/queries";
import type { Pipeline } from "../api/types";
import { formatDuration, useApp } from "../app";
import { ErrorBanner, FormRow } from "../components";

function PipelineCard({ pipeline, canLaunch }: { pipeline: Pipeline; canLaunch: boolean }) {
  const navigate = useNavigate();
  const { notify } = useApp();
  const [open, setOpen] = useState(false);
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(pipeline.parameters.map((p) => [p.name, p.default === null || p.default === undefined ? "" : String(p.default)])),
  );
  const [backend, setBackend] = useState(pipeline.backend);
  const backends = useBackendNames();
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);

  async function launch() {
    setBusy(true);
    try {
      const parameters: Record<string, unknown> = {};
      for (const p of pipeline.parameters) {
        const raw = values[p.name];
        if (raw === "") continue;
        parameters[p.name] = p.type === "int" ? parseInt(raw, 10) : p.type === "float" ? Number(raw) : p.type === "bool" ? raw === "true" : raw;
      }
      const { workspace, job } = await api.launchPipeline(pipeline.slug, {
        ...(name.trim() ? { name: name.trim() } : {}),
        parameters,
        backend,
      });
      navigate(`/w/${workspace.id}?job=${job.id}&tab=output`);
    } catch (e) {
      notify(`Launch failed: ${(e as Error).message}`, { kind: "fail" });
    } finally {
      setBusy(false);
    }
  }

  const id = `pipeline-${pipeline.slug}`;
  return (
    <article className="card" aria-labelledby={id}>
      <h2 id={id} style={{ margin: "0 0 4px", fontSize: 17 }}>
        {pipeline.title}
      </h2>
      <p className="muted" style={{ margin: "0 0 8px" }}>
        {pipeline.framework} · {pipeline.backend} · about {formatDuration(pipeline.expected_seconds)}
      </p>
      <p>{pipeline.description}</p>
      {open && (
        <div className="form-grid" style={{ marginBottom: 8 }}>
          <FormRow id={`${id}-name`} label="Workspace name">
            <input id={`${id}-name`} value={name} placeholder={pipeline.slug} onChange={(e) => setName(e.target.value)} />
          </FormRow>
          <FormRow id={`${id}-backend`} label="Backend">
            <select id={`${id}-backend`} value={backend} onChange={(e) => setBackend(e.target.value)}>
              {(pipeline.backends?.length ? pipeline.backends : backends).map((b) => (
                <option key={b}>{b}</option>
              ))}
            </select>
          </FormRow>
          {pipeline.parameters.map((p) => (
            <FormRow key={p.name} id={`${id}-${p.name}`} label={p.name} help={p.help}>
              {p.type === "bool" || p.choices?.length ? (
                <select id={`${id}-${p.name}`} value={values[p.name]} onChange={(e) => setValues({ ...values, [p.name]: e.target.value })}>
                  {(p.type === "bool" ? ["true", "false"] : p.choices!).map((c) => (
                    <option key={c}>{c}</option>
                  ))}
                </select>
              ) : (
                <input
                  id={`${id}-${p.name}`}
                  type={p.type === "int" || p.type === "float" ? "number" : "text"}
                  min={p.min ?? undefined}
                  max={p.max ?? undefined}
                  step={p.type === "float" ? "any" : undefined}
                  value={values[p.name]}
                  onChange={(e) => setValues({ ...values, [p.name]: e.target.value })}
                />
              )}
            </FormRow>
          ))}
        </div>
      )}
      <div className="row">
        <button className="primary" disabled={!canLaunch || busy} onClick={launch} aria-label={`Launch ${pipeline.title}`}>
          {busy ? "Launching…" : "Launch"}
        </button>
        <button onClick={() => setOpen(!open)} aria-expanded={open}>
          {open ? "Hide options" : "Options"}
        </button>
      </div>
    </article>
  );
}

export function PipelinesPage() {
  const { org } = useApp();
  const { data: pipelines, error } = useQuery(queries.pipelines());
  return (
    <main className="page">
      <h1>Pipelines</h1>
      <p className="muted">Ready-made apps with their code, runtime and sample data. Launch one into a new workspace.</p>
      <ErrorBanner error={error} />
      {pipelines === undefined && !error && <p className="muted">Loading…</p>}
      {pipelines && pipelines.length === 0 && <p className="muted">No pipelines installed.</p>}
      <div className="grid">
        {pipelines?.map((p) => <PipelineCard key={p.slug} pipeline={p} canLaunch={org?.role !== "viewer"} />)}
      </div>
    </main>
  );
}
