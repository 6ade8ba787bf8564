import { StrictMode, lazy, Suspense } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";
import "./theme.css";
import { AppProvider, Toasts } from "./app";
import { Layout } from "./pages/Layout";
import { WorkspacesPage } from "./pages/WorkspacesPage";
import { PipelinesPage } from "./pages/PipelinesPage";
import { SettingsPage } from "./settings/SettingsPage";
import { applyTheme, storedTheme } from "./theme";

applyTheme(storedTheme());

// The IDE pulls in Monaco and xterm: load it only when a workspace is opened.
const WorkspaceIDE = lazy(() => import("./ide/WorkspaceIDE"));

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <BrowserRouter>
      <AppProvider>
        <Routes>
          <Route element={<Layout />}>
            <Route index element={<WorkspacesPage />} />
            <Route path="pipelines" element={<PipelinesPage />} />
            <Route path="settings/*" element={<SettingsPage />} />
            <Route
              path="w/:id"
              element={
                <Suspense fallback={<p className="empty">Loading the editor…</p>}>
                  <WorkspaceIDE />
                </Suspense>
              }
            />
            <Route path="*" element={<Navigate to="/" replace />} />
          </Route>
        </Routes>
        <Toasts />
      </AppProvider>
    </BrowserRouter>
  </StrictMode>,
);
