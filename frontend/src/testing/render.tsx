// Rendering for unit tests in jsdom, without a testing library: React's act() around a root of our own.
import { QueryClientProvider } from "@tanstack/react-query";
import { act, type ReactNode } from "react";
import { createRoot } from "react-dom/client";
import { createQueryClient } from "../api/queries";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export interface Rendered {
  container: HTMLElement;
  rerender: (ui: ReactNode) => Promise<void>;
  unmount: () => void;
}

export async function render(ui: ReactNode): Promise<Rendered> {
  const container = document.createElement("div");
  document.body.appendChild(container);
  const root = createRoot(container);
  await act(async () => root.render(ui));
  return {
    container,
    rerender: (next) => act(async () => root.render(next)),
    unmount: () => {
      act(() => root.unmount());
      container.remove();
    },
  };
}

/** Renders a hook in a component of its own (inside a fresh QueryClient) and hands back its latest result. */
export async function renderHook<T>(hook: () => T): Promise<{ current: () => T; unmount: () => void }> {
  let latest: T | undefined;
  function Probe() {
    latest = hook();
    return null;
  }
  const client = createQueryClient();
  const rendered = await render(
    <QueryClientProvider client={client}>
      <Probe />
    </QueryClientProvider>,
  );
  return { current: () => latest as T, unmount: rendered.unmount };
}

/** Lets pending promises and timers (`ms` of them) and the React updates they cause settle. */
export const settle = (ms = 0) => act(async () => new Promise((resolve) => setTimeout(resolve, ms)));

/** Runs `action` (a hook's callback) as React would from an event, and lets what it updates settle (the query
 * cache tells its observers on the next tick). */
export const perform = (action: () => unknown) =>
  act(async () => {
    await action();
    await new Promise((resolve) => setTimeout(resolve, 0));
  });

export async function click(element: Element | null) {
  if (!element) throw new Error("nothing to click");
  await act(async () => (element as HTMLElement).click());
}
