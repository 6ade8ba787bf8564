export { GanttPanel } from "./GanttPanel";
export type { GanttPanelProps } from "./GanttPanel";
