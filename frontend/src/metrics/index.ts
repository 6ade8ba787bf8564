export { MetricsPanel } from "./MetricsPanel";
export type { MetricsPanelProps } from "./MetricsPanel";
