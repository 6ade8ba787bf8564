import { useEffect, useState, type FormEvent } from "react";
import { api } from "../api/endpoints";
import type { Member, Role } from "../api/types";
import { formatTime, useApp } from "../app";

const ROLES: Role[] = ["owner", "admin", "member", "viewer"];

export function MembersSettings() {
  const { me, notify } = useApp();
  const [members, setMembers] = useState<Member[]>([]);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [error, setError] = useState<string | null>(null);
  const admin = me?.role === "owner" || me?.role === "admin";

  const load = () => api.members().then(setMembers, (e) => setError(e.message));
  useEffect(() => {
    void load();
  }, []);

  async function add(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      await api.addMember(email.trim(), role);
      setEmail("");
      void load();
    } catch (e) {
      setError((e as Error).message);
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
        <form className="card row" onSubmit={add} aria-label="Add member">
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
          <button className="primary" type="submit">
            Add member
          </button>
        </form>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <table style={{ marginTop: 12 }}>
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
