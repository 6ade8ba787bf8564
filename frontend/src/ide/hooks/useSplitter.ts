// The splitter between the editor and the bottom panels: mouse drag or arrow keys, each side at least 120 px.
import { useRef, useState, type CSSProperties, type KeyboardEvent, type MouseEvent } from "react";

const MIN = 120;
const STEP = 30;

export function useSplitter() {
  const mainRef = useRef<HTMLDivElement>(null);
  const [bottomHeight, setBottomHeight] = useState<number | null>(null);
  const clamp = (height: number, total: number) => Math.min(total - MIN, Math.max(MIN, height));

  const onMouseDown = (event: MouseEvent) => {
    event.preventDefault();
    const onMove = (e: globalThis.MouseEvent) => {
      const rect = mainRef.current?.getBoundingClientRect();
      if (rect) setBottomHeight(clamp(rect.bottom - e.clientY, rect.height));
    };
    const onUp = () => {
      window.removeEventListener("mousemove", onMove);
      window.removeEventListener("mouseup", onUp);
    };
    window.addEventListener("mousemove", onMove);
    window.addEventListener("mouseup", onUp);
  };

  const onKeyDown = (event: KeyboardEvent) => {
    const rect = mainRef.current?.getBoundingClientRect();
    if (!rect) return;
    const current = bottomHeight ?? rect.height * 0.42;
    if (event.key === "ArrowUp") setBottomHeight(Math.min(rect.height - MIN, current + STEP));
    else if (event.key === "ArrowDown") setBottomHeight(Math.max(MIN, current - STEP));
  };

  const style = bottomHeight ? ({ "--bottom-height": `${bottomHeight}px` } as CSSProperties) : undefined;
  return { mainRef, style, bottomHeight, onMouseDown, onKeyDown };
}
