import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api } from "../api/endpoints";
import { keys, queries, useApiMutation } from "../api/queries";
import type { ApiToken } from "../api/types";
import { formatTime, useApp } from "../app";
import { ACTIONS, ConfirmButton, DataTable, ErrorBanner, OnceSecret, type Column } from "../components";

export function TokensSettings() {
  const { attempt } = useApp();
  const tokens = useQuery(queries.tokens());
  const createToken = useApiMutation(api.createToken, () => [keys.tokens]);
  const revokeToken = useApiMutation(api.revokeToken, () => [keys.tokens]);
  const [name, setName] = useState("");
  const [days, setDays] = useState("");
  const [created, setCreated] = useState<ApiToken | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      setCreated(await createToken.mutateAsync([name.trim(), days ? Number(days) : undefined]));
      setName("");
      setDays("");
    } catch (e) {
      setError((e as Error).message);
    }
  }

  const revoke = (token: ApiToken) => attempt(() => revokeToken.mutateAsync([token.id]));

  const columns: Column<ApiToken>[] = [
    { header: "Name", cell: (t) => t.name },
    { header: "Key", cell: (t) => t.display, className: "mono" },
    { header: "Created", cell: (t) => formatTime(t.created_at) },
    { header: "Last used", cell: (t) => formatTime(t.last_used_at) },
    { header: "Expires", cell: (t) => (t.expires_at ? formatTime(t.expires_at) : "never") },
    { header: "Status", cell: (t) => (t.is_active ? "active" : t.revoked_at ? "revoked" : "expired") },
    {
      header: ACTIONS,
      cell: (t) =>
        t.is_active && (
          <ConfirmButton
            confirm={`Revoke the token “${t.name}”? Clients using it stop working at once.`}
            onConfirm={() => revoke(t)}
            aria-label={`Revoke ${t.name}`}
          >
            Revoke
          </ConfirmButton>
        ),
    },
  ];

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
        <OnceSecret value={created.key} what="key" testId="new-token" onDone={() => setCreated(null)}>
          <strong>Copy the key of “{created.name}” now</strong>: it is shown only once.
        </OnceSecret>
      )}
      <ErrorBanner error={error ?? tokens.error} />
      <DataTable style={{ marginTop: 12 }} columns={columns} rows={tokens.data} rowKey={(t) => t.id} />
    </section>
  );
}
