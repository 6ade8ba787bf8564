// The light/dark theme: the user's choice (html[data-theme], kept in localStorage; none means the OS's) and the
// scheme it resolves to (html[data-scheme], what theme.css styles), followed when the OS preference changes.
export type Theme = "light" | "dark" | "system";

const KEY = "pyrun.theme";

const systemDark = () => window.matchMedia?.("(prefers-color-scheme: dark)");

export function storedTheme(): Theme {
  const value = localStorage.getItem(KEY);
  return value === "light" || value === "dark" ? value : "system";
}

export function applyTheme(theme: Theme): void {
  const root = document.documentElement;
  if (theme === "system") {
    delete root.dataset.theme;
    localStorage.removeItem(KEY);
  } else {
    root.dataset.theme = theme;
    localStorage.setItem(KEY, theme);
  }
  root.dataset.scheme = theme === "dark" || (theme === "system" && systemDark()?.matches) ? "dark" : "light";
  window.dispatchEvent(new Event("pyrun-theme"));
}

/** Keeps the "system" theme in step with the OS preference; call once at start. */
export function followSystemTheme(): void {
  systemDark()?.addEventListener?.("change", () => {
    if (storedTheme() === "system") applyTheme("system");
  });
}

export function isDark(): boolean {
  const scheme = document.documentElement.dataset.scheme;
  if (scheme) return scheme === "dark";
  return systemDark()?.matches ?? false;
}
