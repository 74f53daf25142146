"use client";
import * as React from "react";
import { AlertTriangle, Radio } from "lucide-react";
import { Progress } from "@/components/ui/progress";
import { usePreview } from "@/lib/preview";
import { drawPage, openPdf } from "@/lib/pdf";
import { mark } from "@/lib/trace";

declare global {
  interface Window {
    __rgPreviewLog?: { version: number; runId: string; at: number }[];
  }
}

const PHASE_TEXT: Record<string, string> = {
  idle: "Waiting for the first save",
  queued: "Queued",
  running: "Rendering",
  fetching: "Loading the PDF",
  done: "Up to date",
  failed: "Failed",
};
const PHASE_VALUE: Record<string, number> = { idle: 0, queued: 25, running: 60, fetching: 90, done: 100, failed: 100 };

/** The PDF pages drawn by pdf.js into canvases off screen, swapped in whole when ready. */
export function PreviewPane() {
  const { phase, error, shown, live } = usePreview();
  const hostRef = React.useRef<HTMLDivElement>(null);
  const [width, setWidth] = React.useState(0);
  const [pages, setPages] = React.useState(0);
  const [shownVersion, setShownVersion] = React.useState(0);

  React.useEffect(() => {
    const el = hostRef.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(Math.max(200, Math.floor(el.clientWidth))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  React.useEffect(() => {
    if (!shown || !width || !hostRef.current) return;
    let live = true;
    (async () => {
      const doc = await openPdf(shown.bytes.slice(0));
      mark("pdf.opened", shown.version);
      try {
        const canvases: HTMLCanvasElement[] = [];
        for (let i = 1; i <= doc.numPages; i++) canvases.push(await drawPage(doc, i, width));
        if (!live || !hostRef.current) return;
        canvases.forEach((c, i) => {
          c.className = "block h-auto w-full rounded-sm bg-white shadow-md";
          c.setAttribute("role", "img");
          c.setAttribute("aria-label", `Page ${i + 1} of ${canvases.length} of the PDF preview`);
          c.style.width = "100%";
        });
        hostRef.current.replaceChildren(...canvases);
        setPages(canvases.length);
        setShownVersion(shown.version);
        (window.__rgPreviewLog ??= []).push({ version: shown.version, runId: shown.runId, at: performance.now() });
      } finally {
        void doc.destroy();
      }
    })().catch(() => {
      /* a PDF that pdf.js cannot draw leaves the previous one on screen */
    });
    return () => {
      live = false;
    };
  }, [shown, width]);

  const busy = phase === "queued" || phase === "running" || phase === "fetching";
  return (
    <section aria-label="PDF preview" className="flex h-full flex-col gap-2">
      <div className="flex items-center gap-3 text-xs text-muted-foreground">
        <span role="status" aria-live="polite" data-testid="preview-status" data-phase={phase}>
          {PHASE_TEXT[phase] ?? phase}
          {pages ? ` · ${pages} page${pages === 1 ? "" : "s"}` : ""}
        </span>
        <span className="ml-auto flex items-center gap-1" title={live ? "Live updates through the notification hub" : "Checking for updates by polling"}>
          <Radio aria-hidden="true" className={live ? "size-3.5 text-success" : "size-3.5"} />
          {live ? "Live" : "Polling"}
        </span>
      </div>
      <Progress value={PHASE_VALUE[phase] ?? 0} aria-label="Preview progress" className={busy ? "" : "opacity-0"} />
      {error && (
        <div role="alert" className="flex items-start gap-2 rounded-md border border-destructive/40 bg-destructive/5 p-2 text-xs text-destructive">
          <AlertTriangle aria-hidden="true" className="mt-0.5 size-3.5 shrink-0" /> {error}
        </div>
      )}
      <div className="relative flex-1 overflow-auto rounded-lg bg-muted p-3" tabIndex={0} aria-label="PDF pages (scrollable)">
        {!shown && (
          <div className="grid h-64 place-items-center text-sm text-muted-foreground">{phase === "failed" ? "No preview" : "The preview appears after the first save…"}</div>
        )}
        <div ref={hostRef} data-testid="preview-pages" data-version={shownVersion} className="flex flex-col gap-3" />
      </div>
    </section>
  );
}
