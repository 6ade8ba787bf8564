import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { api } from "../api/endpoints";
import { keys, queries, useApiMutation } from "../api/queries";
import type { Workspace } from "../api/types";
import { formatBytes, formatTime, useApp } from "../app";
import { ACTIONS, ConfirmButton, DataTable, ErrorBanner, type Column } from "../components";

export function WorkspacesPage() {
  const { org, attempt } = useApp();
  const navigate = useNavigate();
  const workspaces = useQuery(queries.workspaces());
  const templates = useQuery(queries.templates());
  const createWorkspace = useApiMutation(api.createWorkspace, () => [keys.workspaces]);
  const deleteWorkspace = useApiMutation(api.deleteWorkspace, () => [keys.workspaces]);
  const [name, setName] = useState("");
  const [chosen, setTemplate] = useState("");
  const [error, setError] = useState<string | null>(null);
  const template = chosen || templates.data?.[0]?.slug || "";

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      const workspace = await createWorkspace.mutateAsync([name.trim(), template]);
      navigate(`/w/${workspace.id}`);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  const remove = (workspace: Workspace) => attempt(() => deleteWorkspace.mutateAsync([workspace.id]));

  const canWrite = org && org.role !== "viewer";
  const columns: Column<Workspace>[] = [
    { header: "Name", cell: (w) => <Link to={`/w/${w.id}`}>{w.name}</Link> },
    { header: "Template", cell: (w) => w.template },
    { header: "Runtime", cell: (w) => w.runtime_status, className: (w) => `state state-${w.runtime?.state ?? ""}` },
    { header: "Size", cell: (w) => formatBytes(w.size) },
    { header: "Created by", cell: (w) => w.created_by ?? "–" },
    { header: "Updated", cell: (w) => formatTime(w.updated_at) },
    {
      header: ACTIONS,
      cell: (w) =>
        canWrite && (
          <ConfirmButton
            confirm={`Delete workspace “${w.name}” and all its files?`}
            onConfirm={() => remove(w)}
            aria-label={`Delete ${w.name}`}
          >
            Delete
          </ConfirmButton>
        ),
    },
  ];
  return (
    <main className="page">
      <h1>Workspaces{org ? ` · ${org.name}` : ""}</h1>
      {canWrite && (
        <form className="card row" onSubmit={create} aria-label="New workspace" style={{ marginBottom: 16 }}>
          <strong>New from template</strong>
          <label>
            Name
            <input required value={name} onChange={(e) => setName(e.target.value)} placeholder="my-analysis" />
          </label>
          <label>
            Template
            <select value={template} onChange={(e) => setTemplate(e.target.value)}>
              {templates.data?.map((t) => (
                <option key={t.slug} value={t.slug}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
          <button className="primary" type="submit" disabled={createWorkspace.isPending || !name.trim() || !template}>
            Create workspace
          </button>
          <span className="muted">{templates.data?.find((t) => t.slug === template)?.description}</span>
        </form>
      )}
      <ErrorBanner error={error ?? workspaces.error} />
      <DataTable
        columns={columns}
        rows={workspaces.data}
        rowKey={(w) => w.id}
        loading="Loading…"
        empty="No workspaces yet: create one from a template, or launch a pipeline."
      />
    </main>
  );
}
