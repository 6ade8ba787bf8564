import { NavLink, Navigate, Route, Routes } from "react-router-dom";
import { CloudAccountSettings } from "./CloudAccountSettings";
import { MembersSettings } from "./MembersSettings";
import { TokensSettings } from "./TokensSettings";

export function SettingsPage() {
  return (
    <main className="page">
      <h1>Settings</h1>
      <nav aria-label="Settings" className="row" style={{ marginBottom: 16 }}>
        <NavLink to="/settings/tokens">API tokens</NavLink>
        <NavLink to="/settings/members">Members and roles</NavLink>
        <NavLink to="/settings/cloud">Cloud account</NavLink>
      </nav>
      <Routes>
        <Route path="tokens" element={<TokensSettings />} />
        <Route path="members" element={<MembersSettings />} />
        <Route path="cloud" element={<CloudAccountSettings />} />
        <Route path="*" element={<Navigate to="/settings/tokens" replace />} />
      </Routes>
    </main>
  );
}
