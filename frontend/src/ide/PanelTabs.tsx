// The tab list of the bottom panels (arrow keys move between tabs, as the ARIA tabs pattern has it).
import { PANELS, type Panel } from "./hooks/usePanels";

export interface PanelTabsProps {
  panel: Panel;
  onSelect: (panel: Panel) => void;
  runsTotal: number; // shown on the Runs tab
}

export function PanelTabs({ panel, onSelect, runsTotal }: PanelTabsProps) {
  return (
    <div role="tablist" aria-label="Panels">
      {PANELS.map(([key, label], index) => (
        <button
          key={key}
          role="tab"
          id={`panel-tab-${key}`}
          aria-selected={panel === key}
          aria-controls={`panel-${key}`}
          tabIndex={panel === key ? 0 : -1}
          onClick={() => onSelect(key)}
          onKeyDown={(e) => {
            let next = index;
            if (e.key === "ArrowRight") next = (index + 1) % PANELS.length;
            else if (e.key === "ArrowLeft") next = (index - 1 + PANELS.length) % PANELS.length;
            else return;
            e.preventDefault();
            onSelect(PANELS[next][0]);
            (e.currentTarget.parentElement?.children[next] as HTMLElement | undefined)?.focus();
          }}
        >
          {label}
          {key === "runs" && runsTotal > 0 && <span className="muted">({runsTotal})</span>}
        </button>
      ))}
    </div>
  );
}
