import { useEffect, useState, type FormEvent } from "react";
import { api } from "../api/endpoints";
import { CopyButton } from "./CopyButton";
import type { CloudAccount } from "../api/types";
import { formatTime, useApp } from "../app";

const EMPTY = {
  name: "aws",
  auth_type: "access_keys",
  region: "eu-west-1",
  bucket: "",
  role_arn: "",
  access_key_id: "",
  secret_access_key: "",
};

export function CloudAccountSettings() {
  const { me, notify } = useApp();
  const [account, setAccount] = useState<CloudAccount | null>(null);
  const [form, setForm] = useState<Record<string, string>>(EMPTY);
  const [error, setError] = useState<string | null>(null);
  const admin = me?.role === "owner" || me?.role === "admin";

  const load = () =>
    api.cloudAccounts().then((all) => {
      const first = all[0] ?? null;
      setAccount(first);
      if (first)
        setForm({
          ...EMPTY,
          name: first.name,
          auth_type: first.auth_type,
          region: first.region,
          bucket: first.bucket,
          role_arn: first.role_arn,
        });
    }, (e) => setError(e.message));
  useEffect(() => {
    void load();
  }, []);

  async function save(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const body = Object.fromEntries(Object.entries(form).filter(([k, v]) => v !== "" || !["access_key_id", "secret_access_key"].includes(k)));
    try {
      await api.saveCloudAccount(account?.id ?? null, body);
      notify("Cloud account saved.");
      void load();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  const field = (name: string, label: string, type = "text", help = "") => (
    <>
      <label htmlFor={`cloud-${name}`}>{label}</label>
      <input id={`cloud-${name}`} type={type} value={form[name] ?? ""} autoComplete="off" onChange={(e) => setForm({ ...form, [name]: e.target.value })} />
      {help && <span className="help">{help}</span>}
    </>
  );

  return (
    <section aria-labelledby="cloud-title">
      <h2 id="cloud-title">Cloud account (AWS)</h2>
      <p className="muted">
        Used by the lithops-aws-lambda executor and S3 storage. Secrets are stored encrypted and never shown again.
        {account && ` Current key: ${account.access_key_hint || "–"}; secret ${account.has_secret ? "set" : "not set"}; updated ${formatTime(account.updated_at)}.`}
      </p>
      <form onSubmit={save} aria-label="Cloud account">
        <fieldset disabled={!admin} style={{ border: "none", padding: 0 }}>
          <div className="form-grid">
            {field("name", "Name")}
            <label htmlFor="cloud-auth_type">Authentication</label>
            <select id="cloud-auth_type" value={form.auth_type} onChange={(e) => setForm({ ...form, auth_type: e.target.value })}>
              <option value="access_keys">access keys</option>
              <option value="role">assume a role</option>
            </select>
            {field("region", "Region", "text", "e.g. eu-west-1")}
            {field("bucket", "S3 bucket")}
            {form.auth_type === "role" ? (
              <>
                {field("role_arn", "Role ARN", "text", "arn:aws:iam::123456789012:role/name")}
                <span>External id</span>
                {account ? (
                  <span className="row">
                    <code id="cloud-external_id" aria-label="External id">{account.external_id}</code>
                    <CopyButton text={account.external_id} what="external id" label="External id" />
                  </span>
                ) : (
                  <span className="help">Set by the platform, one per organisation: shown once the account is saved.</span>
                )}
              </>
            ) : (
              <>
                {field("access_key_id", "Access key id", "text", account ? "Leave empty to keep the stored one." : "")}
                {field("secret_access_key", "Secret access key", "password")}
              </>
            )}
          </div>
          {form.auth_type === "role" && account?.auth_type === "role" && (
            <div className="trust-policy">
              <p className="row">
                <strong>Trust policy</strong>
                <CopyButton text={JSON.stringify(account.trust_policy, null, 2)} what="trust policy" label="Trust policy">
                  Copy trust policy
                </CopyButton>
              </p>
              <p className="muted">
                The platform always assumes the role with this external id; the role must require it, or any other customer of the platform could use it.{" "}
                {account.trust_policy_note}
              </p>
              <pre aria-label="Trust policy">{JSON.stringify(account.trust_policy, null, 2)}</pre>
            </div>
          )}
          {error && (
            <p role="alert" className="error">
              {error}
            </p>
          )}
          <p className="row">
            <button className="primary" type="submit">
              {account ? "Save changes" : "Add cloud account"}
            </button>
            {account && (
              <button
                type="button"
                className="danger"
                onClick={async () => {
                  if (!window.confirm("Delete the cloud account?")) return;
                  await api.deleteCloudAccount(account.id).catch((e) => setError(e.message));
                  setAccount(null);
                  setForm(EMPTY);
                }}
              >
                Delete
              </button>
            )}
            {!admin && <span className="muted">Only admins can change it.</span>}
          </p>
        </fieldset>
      </form>
    </section>
  );
}
