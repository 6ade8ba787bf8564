import { useEffect, useState } from "react";
import { NavLink, Outlet } from "react-router-dom";
import { useApp } from "../app";
import { csrfToken } from "../api/client";
import { api } from "../api/endpoints";
import { applyTheme, isDark, storedTheme } from "../theme";

export function ThemeToggle() {
  const [dark, setDark] = useState(isDark());
  useEffect(() => {
    const update = () => setDark(isDark());
    window.addEventListener("pyrun-theme", update);
    return () => window.removeEventListener("pyrun-theme", update);
  }, []);
  return (
    <button
      type="button"
      aria-pressed={dark}
      title={`Theme: ${storedTheme()}`}
      onClick={() => applyTheme(dark ? "light" : "dark")}
    >
      {dark ? "☀ Light" : "☾ Dark"}
    </button>
  );
}

/** "+ New organisation": a name, and the new organisation (owned by the user) becomes the one they act in. */
export function NewOrgForm() {
  const { attempt, refreshOrgs, switchOrg } = useApp();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  if (!open)
    return (
      <button type="button" onClick={() => setOpen(true)} title="Create an organisation you own">
        + New organisation
      </button>
    );
  return (
    <form
      aria-label="New organisation"
      className="row"
      onSubmit={(e) => {
        e.preventDefault();
        void attempt(async () => {
          const created = await api.createOrg(name);
          await refreshOrgs();
          await switchOrg(created);
          setName("");
          setOpen(false);
        });
      }}
    >
      <input aria-label="Organisation name" value={name} onChange={(e) => setName(e.target.value)} maxLength={120} autoFocus required />
      <button type="submit" className="primary" disabled={!name.trim()}>
        Create
      </button>
      <button type="button" onClick={() => setOpen(false)}>
        Cancel
      </button>
    </form>
  );
}

export function Layout() {
  const { me, orgs, org, switchOrg, error } = useApp();
  return (
    <div className="app">
      <header className="topbar">
        <NavLink to="/" className="brand">
          PyRun
        </NavLink>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Workspaces
          </NavLink>
          <NavLink to="/pipelines">Pipelines</NavLink>
          <NavLink to="/settings/tokens">Settings</NavLink>
        </nav>
        <span className="spacer" />
        {orgs.length > 0 && (
          <label>
            <span className="muted">Organisation</span>
            <select
              aria-label="Organisation"
              value={org?.slug ?? ""}
              onChange={(e) => {
                const chosen = orgs.find((o) => o.slug === e.target.value);
                if (chosen) void switchOrg(chosen);
              }}
            >
              {orgs.map((o) => (
                <option key={o.id} value={o.slug}>
                  {o.name} ({o.role})
                </option>
              ))}
            </select>
          </label>
        )}
        {me && <NewOrgForm />}
        <ThemeToggle />
        {me && <span className="muted">{me.user.email}</span>}
        <form method="post" action="/logout/">
          <input type="hidden" name="csrfmiddlewaretoken" value={csrfToken()} />
          <button type="submit">Log out</button>
        </form>
      </header>
      {error && (
        <p role="alert" className="error" style={{ padding: "0 12px" }}>
          {error}
        </p>
      )}
      <Outlet />
    </div>
  );
}
