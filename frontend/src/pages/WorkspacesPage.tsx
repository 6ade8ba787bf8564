import { useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { api } from "../api/endpoints";
import type { Template, Workspace } from "../api/types";
import { formatBytes, formatTime, useApp } from "../app";

export function WorkspacesPage() {
  const { org, notify } = useApp();
  const navigate = useNavigate();
  const [workspaces, setWorkspaces] = useState<Workspace[] | null>(null);
  const [templates, setTemplates] = useState<Template[]>([]);
  const [name, setName] = useState("");
  const [template, setTemplate] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.workspaces().then(setWorkspaces, (e) => setError(e.message));
    api.templates().then((all) => {
      setTemplates(all);
      setTemplate((t) => t || all[0]?.slug || "");
    });
  }, [org?.slug]);

  async function create(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const workspace = await api.createWorkspace(name.trim(), template);
      navigate(`/w/${workspace.id}`);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  async function remove(workspace: Workspace) {
    if (!window.confirm(`Delete workspace “${workspace.name}” and all its files?`)) return;
    try {
      await api.deleteWorkspace(workspace.id);
      setWorkspaces((all) => all?.filter((w) => w.id !== workspace.id) ?? null);
    } catch (e) {
      notify((e as Error).message, { kind: "fail" });
    }
  }

  const canWrite = org && org.role !== "viewer";
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
              {templates.map((t) => (
                <option key={t.slug} value={t.slug}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
          <button className="primary" type="submit" disabled={busy || !name.trim() || !template}>
            Create workspace
          </button>
          <span className="muted">{templates.find((t) => t.slug === template)?.description}</span>
        </form>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {workspaces === null ? (
        <p className="muted">Loading…</p>
      ) : workspaces.length === 0 ? (
        <p className="muted">No workspaces yet: create one from a template, or launch a pipeline.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Template</th>
              <th>Runtime</th>
              <th>Size</th>
              <th>Created by</th>
              <th>Updated</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {workspaces.map((w) => (
              <tr key={w.id}>
                <td>
                  <Link to={`/w/${w.id}`}>{w.name}</Link>
                </td>
                <td>{w.template}</td>
                <td className={`state state-${w.runtime?.state ?? ""}`}>{w.runtime_status}</td>
                <td>{formatBytes(w.size)}</td>
                <td>{w.created_by ?? "–"}</td>
                <td>{formatTime(w.updated_at)}</td>
                <td>
                  {canWrite && (
                    <button className="danger" onClick={() => remove(w)} aria-label={`Delete ${w.name}`}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
