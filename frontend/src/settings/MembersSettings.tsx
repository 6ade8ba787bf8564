import { useEffect, useState, type FormEvent } from "react";
import { api } from "../api/endpoints";
import type { Invitation, Member, Role } from "../api/types";
import { formatTime, useApp } from "../app";
import { CopyButton } from "./CopyButton";

const ROLES: Role[] = ["owner", "admin", "member", "viewer"];

export function MembersSettings() {
  const { me, notify } = useApp();
  const [members, setMembers] = useState<Member[]>([]);
  const [invitations, setInvitations] = useState<Invitation[]>([]);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [created, setCreated] = useState<Invitation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const admin = me?.role === "owner" || me?.role === "admin";

  const load = () => api.members().then(setMembers, (e) => setError(e.message));
  const loadInvitations = () => api.invitations().then(setInvitations, (e) => setError(e.message));
  useEffect(() => {
    void load();
  }, []);
  useEffect(() => {
    if (admin) void loadInvitations();
  }, [admin]);

  async function invite(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      setCreated(await api.invite(email.trim(), role));
      setEmail("");
      void loadInvitations();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  async function revoke(invitation: Invitation) {
    if (!window.confirm(`Revoke the invitation of ${invitation.email}? Its link stops working at once.`)) return;
    try {
      await api.revokeInvitation(invitation.id);
      if (created?.id === invitation.id) setCreated(null);
      void loadInvitations();
    } catch (e) {
      notify((e as Error).message, { kind: "fail" });
    }
  }

  const change = async (member: Member, next: string) => {
    try {
      await api.changeRole(member.id, next);
      void load();
    } catch (e) {
      notify((e as Error).message, { kind: "fail" });
    }
  };

  const remove = async (member: Member) => {
    const self = member.user.id === me?.user.id;
    if (!window.confirm(self ? "Leave this organisation?" : `Remove ${member.user.email}?`)) return;
    try {
      await api.removeMember(member.id);
      if (self) window.location.href = "/";
      else void load();
    } catch (e) {
      notify((e as Error).message, { kind: "fail" });
    }
  };

  return (
    <section aria-labelledby="members-title">
      <h2 id="members-title">Members and roles</h2>
      <p className="muted">Owners and admins manage members; members run code; viewers only read.</p>
      {admin && (
        <form className="card row" onSubmit={invite} aria-label="Invite member">
          <label>
            Email <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          </label>
          <label>
            Role
            <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {ROLES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <button className="primary" type="submit" disabled={!email.trim()}>
            Invite member
          </button>
        </form>
      )}
      {created?.accept_url && (
        <div
          className="card"
          role="alert"
          aria-label="Invitation link"
          style={{ marginTop: 12, borderColor: "var(--warn)" }}
        >
          <p style={{ marginTop: 0 }}>
            <strong>Invitation for {created.email} ({created.role})</strong>: the link is shown once; it was also sent
            by email. It expires {formatTime(created.expires_at)} and works once.
          </p>
          <div className="row">
            <code data-testid="invitation-link" style={{ userSelect: "all", wordBreak: "break-all" }}>
              {created.accept_url}
            </code>
            <CopyButton text={created.accept_url!} what="link" />
            <button onClick={() => setCreated(null)}>Done</button>
          </div>
        </div>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {admin && (
        <>
          <h3 id="invitations-title">Pending invitations</h3>
          {invitations.length === 0 ? (
            <p className="muted">No pending invitations.</p>
          ) : (
            <table aria-labelledby="invitations-title">
              <thead>
                <tr>
                  <th>Email</th>
                  <th>Role</th>
                  <th>Invited by</th>
                  <th>Expires</th>
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {invitations.map((i) => (
                  <tr key={i.id}>
                    <td>{i.email}</td>
                    <td>{i.role}</td>
                    <td>{i.invited_by?.email ?? "–"}</td>
                    <td>{formatTime(i.expires_at)}</td>
                    <td>
                      <button className="danger" onClick={() => revoke(i)} aria-label={`Revoke invitation of ${i.email}`}>
                        Revoke
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3 id="members-list-title">Members</h3>
        </>
      )}
      <table style={{ marginTop: 12 }} aria-label="Members">
        <thead>
          <tr>
            <th>Email</th>
            <th>Role</th>
            <th>Since</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {members.map((m) => (
            <tr key={m.id}>
              <td>{m.user.email}</td>
              <td>
                {admin ? (
                  <select aria-label={`Role of ${m.user.email}`} value={m.role} onChange={(e) => change(m, e.target.value)}>
                    {ROLES.map((r) => (
                      <option key={r}>{r}</option>
                    ))}
                  </select>
                ) : (
                  m.role
                )}
              </td>
              <td>{formatTime(m.created_at)}</td>
              <td>
                {(admin || m.user.id === me?.user.id) && (
                  <button className="danger" onClick={() => remove(m)}>
                    {m.user.id === me?.user.id ? "Leave" : "Remove"}
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
