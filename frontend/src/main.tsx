import { StrictMode, lazy, Suspense } from "react";
import { QueryClientProvider } from "@tanstack/react-query";
import { createRoot } from "react-dom/client";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";
import "./theme.css";
import { createQueryClient } from "./api/queries";
import { AppProvider, Toasts } from "./app";
import { Layout } from "./pages/Layout";
import { WorkspacesPage } from "./pages/WorkspacesPage";
import { PipelinesPage } from "./pages/PipelinesPage";
import { SettingsPage } from "./settings/SettingsPage";
import { applyTheme, followSystemTheme, storedTheme } from "./theme";

applyTheme(storedTheme());
followSystemTheme();

// The IDE pulls in Monaco and xterm: load it only when a workspace is opened.
const WorkspaceIDE = lazy(() => import("./ide/WorkspaceIDE"));
const queryClient = createQueryClient();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
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
    </QueryClientProvider>
  </StrictMode>,
);
