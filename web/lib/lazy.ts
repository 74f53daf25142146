"use client";
import * as React from "react";

/** A module that is not needed for the first paint (a menu, a dialog): loaded when the page
 * is idle after it first rendered, or at once when `now()` is called (the user got there
 * first).  `mod` is null until it has loaded; a failed load is tried again by `now()`. */
export function useIdleModule<T>(load: () => Promise<T>): { mod: T | null; now: () => void } {
  const [mod, setMod] = React.useState<T | null>(null);
  const loadRef = React.useRef(load);
  const now = React.useCallback(() => {
    loadRef.current().then(
      (m) => setMod(() => m),
      () => {
        /* stays null; the next now() tries again */
      },
    );
  }, []);
  React.useEffect(() => {
    if (typeof window.requestIdleCallback === "function") {
      const h = window.requestIdleCallback(now, { timeout: 3000 });
      return () => window.cancelIdleCallback(h);
    }
    const t = setTimeout(now, 300);
    return () => clearTimeout(t);
  }, [now]);
  return { mod, now };
}
