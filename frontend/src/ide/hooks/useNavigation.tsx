// The IDE's ways to get somewhere: Ctrl/Cmd+P (quick open), Ctrl/Cmd+Shift+F (search in all files), `?` (the
// shortcuts), and opening a file at a line (search results, traceback links). Keys are caught on the window in
// the capture phase, before Monaco or the browser (Ctrl+P prints) take them.
import { useCallback, useEffect, useMemo, useRef, useState, type ReactElement } from "react";
import type { Entry } from "../../api/types";
import { revealWhenShown } from "../editorNav";
import { QuickOpen } from "../QuickOpen";
import { ShortcutHelp } from "../ShortcutHelp";

/** Whether a key press is typing (a field, the editor, the terminal), where `?` is a character, not help. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof Element)) return false;
  if (target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']")) return true;
  return !!target.closest(".monaco-editor, .xterm");
}

export interface NavigationOptions {
  workspaceId: number;
  entries: readonly Entry[];
  openFile: (path: string) => Promise<void> | void;
}

export function useNavigation({ workspaceId, entries, openFile }: NavigationOptions) {
  const [quickOpen, setQuickOpen] = useState(false);
  const [help, setHelp] = useState(false);
  const [searchOpen, setSearchOpen] = useState(false);
  const [searchFocus, setSearchFocus] = useState(0);
  const filePaths = useMemo(() => entries.filter((e) => e.type === "file").map((e) => e.path), [entries]);
  const known = useMemo(() => (filePaths.length ? new Set(filePaths) : undefined), [filePaths]);

  const openAt = useCallback(
    (path: string, line: number, column = 1) => {
      void openFile(path);
      revealWhenShown(workspaceId, path, line, column);
    },
    [workspaceId, openFile],
  );

  const openSearch = useCallback(() => {
    setSearchOpen(true);
    setSearchFocus((n) => n + 1);
  }, []);
  const stateRef = useRef({ openSearch });
  stateRef.current = { openSearch };

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const mod = event.ctrlKey || event.metaKey;
      const key = event.key.toLowerCase();
      // In the terminal Ctrl+P is the shell's (previous command): only Cmd+P there.
      const inTerminal = event.target instanceof Element && !!event.target.closest(".xterm");
      if (mod && !event.altKey && key === "p" && !event.shiftKey && !(inTerminal && event.ctrlKey)) {
        event.preventDefault();
        event.stopPropagation();
        setQuickOpen(true);
      } else if (mod && !event.altKey && event.shiftKey && key === "f") {
        event.preventDefault();
        event.stopPropagation();
        stateRef.current.openSearch();
      } else if (event.key === "?" && !mod && !event.altKey && !isTyping(event.target) && !document.querySelector("dialog[open]")) {
        event.preventDefault();
        setHelp(true);
      }
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  }, []);

  let dialog: ReactElement | null = null;
  if (quickOpen) dialog = <QuickOpen paths={filePaths} onOpen={(p) => void openFile(p)} onClose={() => setQuickOpen(false)} />;
  else if (help) dialog = <ShortcutHelp onClose={() => setHelp(false)} />;

  return {
    /** The open palette or help dialog, to render somewhere in the IDE. */
    dialog,
    openAt,
    known,
    search: { open: searchOpen, focusRequest: searchFocus, show: openSearch, close: () => setSearchOpen(false) },
    showHelp: () => setHelp(true),
  };
}

/** `refresh` once activity settles (`quietMs` without a call), and at least every `maxWaitMs` while it goes on:
 * the file tree after the terminal printed something (a command that wrote files prints, then goes quiet). */
export function useSettledRefresh(refresh: () => void, quietMs = 700, maxWaitMs = 3000): () => void {
  const refreshRef = useRef(refresh);
  refreshRef.current = refresh;
  const timers = useRef<{ quiet?: ReturnType<typeof setTimeout>; first?: number }>({});
  useEffect(() => () => clearTimeout(timers.current.quiet), []);
  return useCallback(() => {
    const state = timers.current;
    const now = Date.now();
    state.first ??= now;
    clearTimeout(state.quiet);
    const wait = Math.max(0, Math.min(quietMs, state.first + maxWaitMs - now));
    state.quiet = setTimeout(() => {
      state.first = undefined;
      refreshRef.current();
    }, wait);
  }, [quietMs, maxWaitMs]);
}
