import { useEffect, useState, type FormEvent } from "react";
import { api } from "../api/endpoints";
import type { ApiToken } from "../api/types";
import { formatTime, useApp } from "../app";
import { CopyButton } from "./CopyButton";

export function TokensSettings() {
  const { notify } = useApp();
  const [tokens, setTokens] = useState<ApiToken[]>([]);
  const [name, setName] = useState("");
  const [days, setDays] = useState("");
  const [created, setCreated] = useState<ApiToken | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = () => api.tokens().then(setTokens, (e) => setError(e.message));
  useEffect(() => {
    void load();
  }, []);

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      const token = await api.createToken(name.trim(), days ? Number(days) : undefined);
      setCreated(token);
      setName("");
      setDays("");
      void load();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  async function revoke(token: ApiToken) {
    if (!window.confirm(`Revoke the token “${token.name}”? Clients using it stop working at once.`)) return;
    try {
      await api.revokeToken(token.id);
      void load();
    } catch (e) {
      notify((e as Error).message, { kind: "fail" });
    }
  }

  return (
    <section aria-labelledby="tokens-title">
      <h2 id="tokens-title">API tokens</h2>
      <p className="muted">
        For CI and the <code>pyrun</code> CLI: <code>Authorization: Token &lt;key&gt;</code>. A token acts in this
        organisation with your role.
      </p>
      <form className="card row" onSubmit={create} aria-label="New token">
        <label>
          Name <input required value={name} onChange={(e) => setName(e.target.value)} placeholder="ci" />
        </label>
        <label>
          Expires in days{" "}
          <input type="number" min={1} max={3650} value={days} onChange={(e) => setDays(e.target.value)} placeholder="never" />
        </label>
        <button className="primary" type="submit" disabled={!name.trim()}>
          Create token
        </button>
      </form>
      {created?.key && (
        <div className="card" role="alert" style={{ marginTop: 12, borderColor: "var(--warn)" }}>
          <p style={{ marginTop: 0 }}>
            <strong>Copy the key of “{created.name}” now</strong>: it is shown only once.
          </p>
          <div className="row">
            <code data-testid="new-token" style={{ userSelect: "all" }}>
              {created.key}
            </code>
            <CopyButton text={created.key!} what="key" />
            <button onClick={() => setCreated(null)}>Done</button>
          </div>
        </div>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <table style={{ marginTop: 12 }}>
        <thead>
          <tr>
            <th>Name</th>
            <th>Key</th>
            <th>Created</th>
            <th>Last used</th>
            <th>Expires</th>
            <th>Status</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td className="mono">{t.display}</td>
              <td>{formatTime(t.created_at)}</td>
              <td>{formatTime(t.last_used_at)}</td>
              <td>{t.expires_at ? formatTime(t.expires_at) : "never"}</td>
              <td>{t.is_active ? "active" : t.revoked_at ? "revoked" : "expired"}</td>
              <td>
                {t.is_active && (
                  <button className="danger" onClick={() => revoke(t)} aria-label={`Revoke ${t.name}`}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
