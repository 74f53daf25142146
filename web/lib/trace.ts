// Timing marks for the edit -> preview path (save, render request, hub messages, PDF fetch,
// drawing).  Kept in a small ring on `window.__rgTrace`, where the end-to-end test reads
// them to break the preview latency down by stage (docs/BENCHMARKS.md).  No-op outside a
// browser (the unit tests run the store in Node).
export type TraceMark = { name: string; at: number; ref?: string | number };

declare global {
  interface Window {
    __rgTrace?: TraceMark[];
  }
}

const MAX = 500;

export function mark(name: string, ref?: string | number) {
  if (typeof window === "undefined" || typeof performance === "undefined") return;
  const t = (window.__rgTrace ??= []);
  t.push({ name, at: performance.now(), ref });
  if (t.length > MAX) t.splice(0, t.length - MAX);
}
