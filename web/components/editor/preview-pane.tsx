"use client";
import * as React from "react";
import { AlertTriangle, Radio } from "lucide-react";
import { Progress } from "@/components/ui/progress";
import { usePreview } from "@/lib/preview";
import { drawPage, openPdf } from "@/lib/pdf";
import { mark } from "@/lib/trace";
import { cn } from "@/lib/utils";
import type { Draft } from "@/lib/preview";

declare global {
  interface Window {
    /** What the pane put on screen and when (the end-to-end test times the preview by it). */
    __rgPreviewLog?: ({ kind: "pdf"; version: number; runId: string; seq: number; at: number } | { kind: "draft"; seq: number; at: number })[];
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

/** The newest picture of the resume: the draft PNG (drawn by rg-core from the unsaved
 * document) or, when no draft is as new, the saved version's PDF drawn by pdf.js into
 * canvases off screen.  Either is swapped in whole when ready. */
export function PreviewPane({ editorStatus = "saved" }: { editorStatus?: string }) {
  const { phase, error, shown, live, draft, draftError } = usePreview();
  const hostRef = React.useRef<HTMLDivElement>(null);
  const [width, setWidth] = React.useState(0);
  const [pages, setPages] = React.useState(0);
  const useDraft = !!draft && (!shown || draft.seq >= shown.seq);

  React.useEffect(() => {
    const el = hostRef.current;
    if (!el) return;
    const ro = new ResizeObserver(() => {
      if (!el.clientWidth) return; // hidden (the phone layout's edit tab)
      const w = Math.max(200, Math.floor(el.clientWidth));
      setWidth(w);
      usePreview.getState().setWidth(w * Math.min(window.devicePixelRatio || 1, 2));
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // A new draft picture is on screen after the frame that commits it.
  React.useEffect(() => {
    if (!useDraft || !draft) return;
    const seq = draft.seq;
    const id = requestAnimationFrame(() => (window.__rgPreviewLog ??= []).push({ kind: "draft", seq, at: performance.now() }));
    return () => cancelAnimationFrame(id);
  }, [useDraft, draft]);

  React.useEffect(() => {
    if (useDraft || !shown || !width || !hostRef.current) return;
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
        hostRef.current.querySelector("[data-pdf-pages]")?.replaceChildren(...canvases);
        setPages(canvases.length);
        (window.__rgPreviewLog ??= []).push({ kind: "pdf", version: shown.version, runId: shown.runId, seq: shown.seq, at: performance.now() });
      } finally {
        void doc.destroy();
      }
    })().catch(() => {
      /* a PDF that pdf.js cannot draw leaves the previous one on screen */
    });
    return () => {
      live = false;
    };
  }, [useDraft, shown, width]);

  const busy = phase === "queued" || phase === "running" || phase === "fetching";
  const shownPages = useDraft && draft ? draft.pages : pages;
  return (
    <section aria-label="PDF preview" className="flex h-full flex-col gap-2">
      <div className="flex items-center gap-3 text-xs text-muted-foreground">
        <span role="status" aria-live="polite" data-testid="preview-status" data-phase={phase}>
          {phase === "done" && shown && editorStatus === "conflict"
            ? `Not saved (conflict) · the PDF is of version ${shown.version}`
            : phase === "done" && shown && (editorStatus === "pending" || editorStatus === "saving")
              ? `Unsaved changes · the PDF is of version ${shown.version}`
              : phase === "done" && shown && editorStatus === "error"
                ? `Not saved · the PDF is of version ${shown.version}`
                : (PHASE_TEXT[phase] ?? phase)}
          {shownPages ? ` · ${shownPages} page${shownPages === 1 ? "" : "s"}` : ""}
        </span>
        <span className="ml-auto flex items-center gap-1" title={live ? "Live updates through the notification hub" : "Checking for updates by polling"}>
          <Radio aria-hidden="true" className={live ? "size-3.5 text-success" : "size-3.5"} />
          {live ? "Live" : "Polling"}
        </span>
      </div>
      <Progress value={PHASE_VALUE[phase] ?? 0} aria-label="Preview progress" className={busy ? "" : "opacity-0"} />
      {draftError && !error && (
        <p role="status" className="text-xs text-muted-foreground" data-testid="draft-error">
          The live picture could not be drawn: {draftError}
        </p>
      )}
      {error && (
        <div role="alert" className="flex items-start gap-2 rounded-md border border-destructive/40 bg-destructive/5 p-2 text-xs text-destructive">
          <AlertTriangle aria-hidden="true" className="mt-0.5 size-3.5 shrink-0" /> {error}
        </div>
      )}
      <div className="relative flex-1 overflow-auto rounded-lg bg-muted p-3" tabIndex={0} aria-label="PDF pages (scrollable)">
        {!shown && !draft && (
          <div className="grid h-64 place-items-center text-sm text-muted-foreground">{phase === "failed" ? "No preview" : "The preview appears in a moment…"}</div>
        )}
        <div
          ref={hostRef}
          data-testid="preview-pages"
          data-version={phase === "done" && shown ? shown.version : 0}
          data-source={useDraft ? "draft" : shown ? "pdf" : ""}
          data-seq={useDraft && draft ? draft.seq : (shown?.seq ?? 0)}
          className="flex flex-col gap-3"
        >
          {useDraft && draft && <DraftPages draft={draft} />}
          <div data-pdf-pages className={cn("flex flex-col gap-3", useDraft && "hidden")} />
        </div>
      </div>
    </section>
  );
}

/** The draft PNG holds the pages one under the other; each page is a slice of it (the first
 * `limit` of them). */
export function DraftPages({ draft, limit, label = "the preview" }: { draft: Pick<Draft, "url" | "pages" | "drawn" | "width" | "height">; limit?: number; label?: string }) {
  const pageH = draft.height / draft.drawn;
  const slices = Array.from({ length: Math.min(draft.drawn, limit ?? draft.drawn) }, (_, i) => (
    <div
      key={i}
      role="img"
      aria-label={`Page ${i + 1} of ${draft.pages} of ${label}`}
      className="block w-full rounded-sm bg-white bg-no-repeat shadow-md"
      style={{
        aspectRatio: `${draft.width} / ${pageH}`,
        backgroundImage: `url(${draft.url})`,
        backgroundSize: `100% ${draft.drawn * 100}%`,
        backgroundPosition: `0 ${draft.drawn > 1 ? (i / (draft.drawn - 1)) * 100 : 0}%`,
      }}
    />
  ));
  return (
    <>
      {slices}
      {limit === undefined && draft.drawn < draft.pages && (
        <p className="text-center text-xs text-muted-foreground">
          The preview shows the first {draft.drawn} of {draft.pages} pages; the PDF has them all.
        </p>
      )}
    </>
  );
}
