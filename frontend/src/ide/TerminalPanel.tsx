// A shell in the workspace's sandbox: xterm.js over /ws/workspaces/{id}/terminal/ (see workspaces/terminal.py).
import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import { useEffect, useRef, useState } from "react";
import { wsUrl } from "../ws/live";

export interface TerminalPanelProps {
  workspaceId: number;
  visible: boolean;
  /** Called on every output of the shell (the IDE refreshes the file tree once it settles). */
  onOutput?: () => void;
}

export function TerminalPanel({ workspaceId, visible, onOutput }: TerminalPanelProps) {
  const host = useRef<HTMLDivElement>(null);
  const fitRef = useRef<FitAddon | null>(null);
  const [session, setSession] = useState(0);
  const [status, setStatus] = useState("connecting");
  const onOutputRef = useRef(onOutput);
  onOutputRef.current = onOutput;

  useEffect(() => {
    if (!host.current) return;
    const term = new Terminal({ cursorBlink: true, fontSize: 13, convertEol: false, theme: { background: "#111111" } });
    const fit = new FitAddon();
    fitRef.current = fit;
    term.loadAddon(fit);
    term.open(host.current);
    try {
      fit.fit();
    } catch {
      /* hidden */
    }
    const socket = new WebSocket(wsUrl(`/ws/workspaces/${workspaceId}/terminal/?cols=${term.cols}&rows=${term.rows}`));
    const send = (message: object) => socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify(message));
    socket.onopen = () => {
      setStatus("connected");
      send({ type: "resize", cols: term.cols, rows: term.rows });
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data));
      if (message.type === "output") {
        term.write(message.data);
        onOutputRef.current?.();
      }
      else if (message.type === "exit") term.write(`\r\n[shell exited with ${message.code}]\r\n`);
      else if (message.type === "error") term.write(`\r\n[${message.message}]\r\n`);
    };
    socket.onclose = (event) => {
      setStatus(event.code === 4403 ? "viewers cannot open a terminal" : event.code === 4408 ? "closed (idle)" : "closed");
    };
    const input = term.onData((data) => send({ type: "input", data }));
    const resize = term.onResize(({ cols, rows }) => send({ type: "resize", cols, rows }));
    const observer = new ResizeObserver(() => {
      try {
        fit.fit();
      } catch {
        /* not laid out */
      }
    });
    observer.observe(host.current);
    return () => {
      observer.disconnect();
      input.dispose();
      resize.dispose();
      socket.close();
      term.dispose();
    };
  }, [workspaceId, session]);

  useEffect(() => {
    if (visible)
      requestAnimationFrame(() => {
        try {
          fitRef.current?.fit();
        } catch {
          /* ignore */
        }
      });
  }, [visible]);

  return (
    <div className="output">
      <div className="output-bar">
        <span>Terminal · {status}</span>
        <span className="spacer" />
        <button onClick={() => setSession((s) => s + 1)}>New session</button>
      </div>
      <div className="terminal-host" ref={host} style={{ flex: 1, minHeight: 0 }} aria-label="Terminal" />
    </div>
  );
}
