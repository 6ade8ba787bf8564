import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api } from "../api/endpoints";
import { keys, queries, useApiMutation } from "../api/queries";
import type { Invitation, Member, Role } from "../api/types";
import { formatTime, useApp } from "../app";
import { ACTIONS, ConfirmButton, DataTable, ErrorBanner, OnceSecret, type Column } from "../components";

const ROLES: Role[] = ["owner", "admin", "member", "viewer"];

function RoleOptions() {
  return (
    <>
      {ROLES.map((r) => (
        <option key={r}>{r}</option>
      ))}
    </>
  );
}

export function MembersSettings() {
  const { me, attempt } = useApp();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [created, setCreated] = useState<Invitation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const admin = me?.role === "owner" || me?.role === "admin";

  const members = useQuery(queries.members());
  const invitations = useQuery({ ...queries.invitations(), enabled: admin });
  const inviteMember = useApiMutation(api.invite, () => [keys.invitations]);
  const revokeInvitation = useApiMutation(api.revokeInvitation, () => [keys.invitations]);
  const changeRole = useApiMutation(api.changeRole, () => [keys.members]);
  const removeMember = useApiMutation(api.removeMember, () => [keys.members]);


  async function invite(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      setCreated(await inviteMember.mutateAsync([email.trim(), role]));
      setEmail("");
    } catch (e) {
      setError((e as Error).message);
    }
  }

  const revoke = (invitation: Invitation) =>
    attempt(async () => {
      await revokeInvitation.mutateAsync([invitation.id]);
      if (created?.id === invitation.id) setCreated(null);
    });

  const remove = (member: Member) =>
    attempt(async () => {
      if (member.user.id === me?.user.id) {
        await api.removeMember(member.id);
        window.location.href = "/";
      } else await removeMember.mutateAsync([member.id]);
    });

  const invitationColumns: Column<Invitation>[] = [
    { header: "Email", cell: (i) => i.email },
    { header: "Role", cell: (i) => i.role },
    { header: "Invited by", cell: (i) => i.invited_by?.email ?? "–" },
    { header: "Expires", cell: (i) => formatTime(i.expires_at) },
    {
      header: ACTIONS,
      cell: (i) => (
        <ConfirmButton
          confirm={`Revoke the invitation of ${i.email}? Its link stops working at once.`}
          onConfirm={() => revoke(i)}
          aria-label={`Revoke invitation of ${i.email}`}
        >
          Revoke
        </ConfirmButton>
      ),
    },
  ];
  const memberColumns: Column<Member>[] = [
    { header: "Email", cell: (m) => m.user.email },
    {
      header: "Role",
      cell: (m) =>
        admin ? (
          <select
            aria-label={`Role of ${m.user.email}`}
            value={m.role}
            onChange={(e) => void attempt(() => changeRole.mutateAsync([m.id, e.target.value]))}
          >
            <RoleOptions />
          </select>
        ) : (
          m.role
        ),
    },
    { header: "Since", cell: (m) => formatTime(m.created_at) },
    {
      header: ACTIONS,
      cell: (m) => {
        const self = m.user.id === me?.user.id;
        return (
          (admin || self) && (
            <ConfirmButton confirm={self ? "Leave this organisation?" : `Remove ${m.user.email}?`} onConfirm={() => remove(m)}>
              {self ? "Leave" : "Remove"}
            </ConfirmButton>
          )
        );
      },
    },
  ];

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
              <RoleOptions />
            </select>
          </label>
          <button className="primary" type="submit" disabled={!email.trim()}>
            Invite member
          </button>
        </form>
      )}
      {created?.accept_url && (
        <OnceSecret
          value={created.accept_url}
          what="link"
          testId="invitation-link"
          label="Invitation link"
          wrap
          onDone={() => setCreated(null)}
        >
          <strong>Invitation for {created.email} ({created.role})</strong>: the link is shown once; it was also sent by
          email. It expires {formatTime(created.expires_at)} and works once.
        </OnceSecret>
      )}
      <ErrorBanner error={error ?? members.error ?? invitations.error} />
      {admin && (
        <>
          <h3 id="invitations-title">Pending invitations</h3>
          <DataTable
            aria-labelledby="invitations-title"
            columns={invitationColumns}
            rows={invitations.data ?? []}
            rowKey={(i) => i.id}
            empty="No pending invitations."
          />
          <h3 id="members-list-title">Members</h3>
        </>
      )}
      <DataTable style={{ marginTop: 12 }} aria-label="Members" columns={memberColumns} rows={members.data} rowKey={(m) => m.id} />
    </section>
  );
}
