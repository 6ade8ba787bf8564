// Colours come from the app's CSS variables, read on the chart's container, with fallbacks for a page that
// defines none (light or dark by the system preference). Re-read when the theme changes.

export interface Theme {
  bg: string;
  panel: string;
  fg: string;
  muted: string;
  border: string;
  accent: string;
  ok: string;
  fail: string;
  warn: string;
  running: string;
  queued: string;
  cancelled: string;
  dark: boolean;
}

const LIGHT: Omit<Theme, "dark"> = {
  bg: "#ffffff", panel: "#f6f8fa", fg: "#1f2328", muted: "#59636e", border: "#d1d9e0", accent: "#0969da",
  ok: "#1a7f37", fail: "#cf222e", warn: "#9a6700", running: "#0969da", queued: "#8250df", cancelled: "#6e7781",
}; // prettier-ignore
const DARK: Omit<Theme, "dark"> = {
  bg: "#0d1117", panel: "#151b23", fg: "#e6edf3", muted: "#9198a1", border: "#3d444d", accent: "#4493f8",
  ok: "#3fb950", fail: "#f85149", warn: "#d29922", running: "#4493f8", queued: "#ab7df8", cancelled: "#8b949e",
}; // prettier-ignore

const VARS: [keyof Omit<Theme, "dark">, string][] = [
  ["bg", "--bg"], ["panel", "--bg-panel"], ["fg", "--fg"], ["muted", "--muted"], ["border", "--border"],
  ["accent", "--accent"], ["ok", "--ok"], ["fail", "--fail"], ["warn", "--warn"], ["running", "--running"],
  ["queued", "--queued"], ["cancelled", "--cancelled"],
]; // prettier-ignore

function prefersDark(): boolean {
  // data-scheme: the app's resolved theme (theme.ts); data-theme alone: the bench page.
  const root = document.documentElement;
  const attr = root.getAttribute("data-scheme") ?? root.getAttribute("data-theme");
  if (attr === "dark") return true;
  if (attr === "light") return false;
  return typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches;
}

/** Relative luminance of a colour the canvas understands (hex or rgb()), for text on bars. */
export function isDarkColour(colour: string): boolean {
  let r = 0;
  let g = 0;
  let b = 0;
  const hex = colour.trim().match(/^#([0-9a-f]{3}|[0-9a-f]{6})$/i);
  if (hex) {
    const h = hex[1].length === 3 ? hex[1].replace(/./g, (c) => c + c) : hex[1];
    r = parseInt(h.slice(0, 2), 16);
    g = parseInt(h.slice(2, 4), 16);
    b = parseInt(h.slice(4, 6), 16);
  } else {
    const rgb = colour.match(/rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/);
    if (!rgb) return false;
    [r, g, b] = [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  }
  return 0.2126 * r + 0.7152 * g + 0.0722 * b < 128;
}

export function readTheme(element: Element): Theme {
  const style = getComputedStyle(element);
  const dark = prefersDark();
  const fallback = dark ? DARK : LIGHT;
  const theme = { ...fallback, dark } as Theme;
  for (const [name, variable] of VARS) {
    const value = style.getPropertyValue(variable).trim();
    if (value) theme[name] = value;
  }
  theme.dark = isDarkColour(theme.panel) || (theme.panel === fallback.panel && dark);
  return theme;
}

/** Call `onChange` when the page's theme changes (`data-theme`/`data-scheme` on <html>, or the system preference). */
export function watchTheme(onChange: () => void): () => void {
  const observer = new MutationObserver(onChange);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme", "data-scheme", "class", "style"] });
  const media = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;
  media?.addEventListener?.("change", onChange);
  return () => {
    observer.disconnect();
    media?.removeEventListener?.("change", onChange);
  };
}
