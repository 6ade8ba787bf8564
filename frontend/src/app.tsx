// App-wide state: who is logged in, their organisations and the one in use, and notifications.
import { useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api } from "./api/endpoints";
import { getOrg, setOrg } from "./api/client";
import type { Me, Org } from "./api/types";

export interface Toast {
  id: number;
  text: string;
  kind?: "info" | "fail";
  action?: { label: string; run: () => void };
}

interface AppState {
  me: Me | null;
  orgs: Org[];
  org: Org | null;
  switchOrg: (org: Org) => Promise<void>;
  refreshOrgs: () => Promise<void>;
  toasts: Toast[];
  /** Shows a toast; its id, for `dismiss` when what it says is no longer true. */
  notify: (text: string, options?: Omit<Toast, "id" | "text">) => number;
  /** Runs a user's action; a failure is said in a toast (the action's own errors, never swallowed silently). */
  attempt: (action: () => Promise<unknown>) => Promise<void>;
  dismiss: (id: number) => void;
  error: string | null;
}

const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const state = useContext(AppContext);
  if (!state) throw new Error("useApp outside AppProvider");
  return state;
}

let nextToast = 1;

export function AppProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [orgs, setOrgs] = useState<Org[]>([]);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [orgKey, setOrgKey] = useState(0);
  const queryClient = useQueryClient();

  const refreshOrgs = useCallback(async () => {
    try {
      const all = await api.orgs();
      setOrgs(all);
      const wanted = getOrg();
      if (wanted && !all.some((o) => o.slug === wanted)) setOrg(null);
      setMe(await api.me());
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, []);

  useEffect(() => {
    void refreshOrgs();
  }, [refreshOrgs]);

  const switchOrg = useCallback(async (org: Org) => {
    setOrg(org.slug);
    await api.selectOrg(org.id).catch(() => undefined);
    setMe(await api.me());
    // Everything cached was read in the other organisation.
    queryClient.clear();
    setOrgKey((k) => k + 1);
  }, [queryClient]);

  const dismiss = useCallback((id: number) => setToasts((all) => all.filter((t) => t.id !== id)), []);
  const notify = useCallback(
    (text: string, options: Omit<Toast, "id" | "text"> = {}) => {
      const id = nextToast++;
      setToasts((all) => [...all, { id, text, ...options }]);
      setTimeout(() => dismiss(id), options.action ? 30_000 : 6_000);
      return id;
    },
    [dismiss],
  );

  const attempt = useCallback(
    (action: () => Promise<unknown>) =>
      action().then(
        () => undefined,
        (e: unknown) => void notify((e as Error).message, { kind: "fail" }),
      ),
    [notify],
  );

  const value = useMemo<AppState>(
    () => ({ me, orgs, org: me?.org ?? null, switchOrg, refreshOrgs, toasts, notify, attempt, dismiss, error }),
    [me, orgs, switchOrg, refreshOrgs, toasts, notify, attempt, dismiss, error],
  );
  return (
    <AppContext.Provider value={value}>
      <div key={orgKey} style={{ display: "contents" }}>
        {children}
      </div>
    </AppContext.Provider>
  );
}

export function Toasts() {
  const { toasts, dismiss } = useApp();
  return (
    <div className="toast-area" role="status" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`toast ${t.kind === "fail" ? "fail" : ""}`}>
          <div>{t.text}</div>
          <div className="row" style={{ marginTop: 6 }}>
            {t.action && (
              <button
                className="primary"
                onClick={() => {
                  t.action!.run();
                  dismiss(t.id);
                }}
              >
                {t.action.label}
              </button>
            )}
            <button onClick={() => dismiss(t.id)}>Dismiss</button>
          </div>
        </div>
      ))}
    </div>
  );
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m < 60 ? `${m} min ${s} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "–";
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "–";
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}
