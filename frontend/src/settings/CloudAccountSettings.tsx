import { useQuery } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { api } from "../api/endpoints";
import { keys, queries, useApiMutation } from "../api/queries";
import { formatTime, useApp } from "../app";
import { ConfirmButton, CopyButton, ErrorBanner, FormRow } from "../components";

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
  const accounts = useQuery(queries.cloudAccounts());
  const saveAccount = useApiMutation(api.saveCloudAccount, () => [keys.cloudAccounts]);
  const deleteAccount = useApiMutation(api.deleteCloudAccount, () => [keys.cloudAccounts]);
  const account = accounts.data?.[0] ?? null;
  const [form, setForm] = useState<Record<string, string>>(EMPTY);
  const [error, setError] = useState<string | null>(null);
  const admin = me?.role === "owner" || me?.role === "admin";

  // The form starts from the stored account each time it is read (the secrets stay empty: write-only).
  useEffect(() => {
    if (account)
      setForm({
        ...EMPTY,
        name: account.name,
        auth_type: account.auth_type,
        region: account.region,
        bucket: account.bucket,
        role_arn: account.role_arn,
      });
  }, [account]);

  async function save(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const body = Object.fromEntries(Object.entries(form).filter(([k, v]) => v !== "" || !["access_key_id", "secret_access_key"].includes(k)));
    try {
      await saveAccount.mutateAsync([account?.id ?? null, body]);
      notify("Cloud account saved.");
    } catch (e) {
      setError((e as Error).message);
    }
  }

  const field = (name: string, label: string, type = "text", help = "") => (
    <FormRow id={`cloud-${name}`} label={label} help={help}>
      <input id={`cloud-${name}`} type={type} value={form[name] ?? ""} autoComplete="off" onChange={(e) => setForm({ ...form, [name]: e.target.value })} />
    </FormRow>
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
            <FormRow id="cloud-auth_type" label="Authentication">
              <select id="cloud-auth_type" value={form.auth_type} onChange={(e) => setForm({ ...form, auth_type: e.target.value })}>
                <option value="access_keys">access keys</option>
                <option value="role">assume a role</option>
              </select>
            </FormRow>
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
          <ErrorBanner error={error ?? accounts.error} />
          <p className="row">
            <button className="primary" type="submit">
              {account ? "Save changes" : "Add cloud account"}
            </button>
            {account && (
              <ConfirmButton
                confirm="Delete the cloud account?"
                onConfirm={async () => {
                  await deleteAccount.mutateAsync([account.id]).catch((e) => setError(e.message));
                  setForm(EMPTY);
                }}
              >
                Delete
              </ConfirmButton>
            )}
            {!admin && <span className="muted">Only admins can change it.</span>}
          </p>
        </fieldset>
      </form>
    </section>
  );
}
