"use client";
// The live preview (Zustand), two paths:
//  - draft: at each pause in typing (DRAFT_DELAY) the unsaved document goes to
//    POST /preview, which answers a PNG of its pages drawn by the renderer from the same
//    layout as the PDF (~20 ms); one request in flight, the newest edit sent when it
//    returns.  This is what follows the keyboard.
//  - PDF: each saved version is rendered by the pipeline (POST renders); the run is
//    followed through the hub (lib/notify.ts) or, while the hub is down, by polling
//    GET renders/{id}, then the PDF is fetched: it is the file Download gives, and the
//    pane draws it (pdf.js) when no draft picture is as new (a failed draft, say).
// Only the newest request of each path counts: an older one that finishes late is ignored.
// What is on screen stays until the next one is ready (the pane swaps it in).
import { create } from "zustand";
import { API, api, type Render, type RenderState } from "./api";
import { notifyClient, type NotifyMessage } from "./notify";
import { mark } from "./trace";

export type PreviewOptions = { theme: string; paper: string; locale: string };
/** A draft picture: the PNG (object URL) of the document at edit `seq`. */
export type Draft = { url: string; seq: number; pages: number; drawn: number; width: number; height: number; options: PreviewOptions };
export type PreviewPhase = "idle" | RenderState | "fetching";

type PreviewState = PreviewOptions & {
  phase: PreviewPhase;
  error: string | null;
  runId: string | null;
  requestedVersion: number;
  requestedSeq: number;
  shown: { runId: string; version: number; seq: number; bytes: ArrayBuffer; options: PreviewOptions } | null;
  draft: Draft | null;
  draftError: string | null;
  /** Device pixels across the preview pane (the width drafts are drawn at). */
  width: number;
  live: boolean;
  setOptions: (o: Partial<PreviewOptions>) => void;
  setWidth: (px: number) => void;
  /** The PDF of saved `version`, which holds the edits up to `seq`. */
  request: (resumeId: string, version: number, seq?: number) => void;
  /** A draft picture of `data` (the editor's document at edit `seq`). */
  sketch: (data: unknown, seq: number) => void;
  reset: () => void;
};

let ticket = 0;
const DRAFT_DELAY = 40; // ms of quiet before a draft is drawn: coalesces a burst of keys
let draftTimer: ReturnType<typeof setTimeout> | null = null;
let draftNext: { data: unknown; seq: number } | null = null;
let draftLast: { data: unknown; seq: number } | null = null; // redrawn when the pane's width changes
let draftBusy = false;
let draftEpoch = 0; // bumped by reset(): answers for another resume are dropped
let pollTimer: ReturnType<typeof setTimeout> | null = null;
// Hub messages for runs we do not know yet: the hub can say "done" before the answer to
// our POST renders arrives (a fast render, a busy tab), and that message must not be lost
// (it was, and the preview then waited for the 3 s safety poll).  The newest state of the
// last few runs, looked up when the POST answers.
const early = new Map<string, Pick<Render, "run_id" | "state" | "error">>();
const EARLY_MAX = 32;

export const LOCALES: { code: string; name: string }[] = [
  { code: "en", name: "English" },
  { code: "de", name: "Deutsch" },
  { code: "fr", name: "Français" },
  { code: "es", name: "Español" },
  { code: "it", name: "Italiano" },
  { code: "nl", name: "Nederlands" },
  { code: "pl", name: "Polski" },
  { code: "pt", name: "Português" },
  { code: "ru", name: "Русский" },
  { code: "uk", name: "Українська" },
  { code: "zh", name: "中文" },
  { code: "ja", name: "日本語" },
  { code: "ko", name: "한국어" },
  { code: "ar", name: "العربية" },
  { code: "he", name: "עברית" },
];

export type Picture = { ok: true; url: string; pages: number; drawn: number; width: number; height: number } | { ok: false; status: number; error: string; retryAfter?: number };

/** A picture of `data` drawn by rg-core (POST /preview): an object URL of the PNG, already
 * decoded, `width` device pixels wide (the caller revokes the URL). */
export async function picture(data: unknown, options: PreviewOptions, width: number): Promise<Picture> {
  const w = Math.max(64, Math.min(2400, Math.round(width)));
  const res = await fetch(API + "/preview", {
    method: "POST",
    credentials: "same-origin",
    cache: "no-store",
    headers: { "Content-Type": "application/json", Accept: "image/png" },
    body: JSON.stringify({ data, ...options, width: w }),
  });
  if (!res.ok) {
    const e = await res.json().catch(() => null);
    const ra = Number(res.headers.get("Retry-After"));
    return { ok: false, status: res.status, error: e?.error?.message || `The preview could not be drawn (${res.status}).`, retryAfter: ra > 0 ? ra : undefined };
  }
  const url = URL.createObjectURL(await res.blob());
  const img = new Image();
  img.src = url;
  try {
    await img.decode(); // decoded before it is swapped in: no blank frame
  } catch {
    URL.revokeObjectURL(url);
    return { ok: false, status: 0, error: "The preview could not be decoded." };
  }
  const pages = Number(res.headers.get("X-Pages")) || 1;
  return { ok: true, url, pages, drawn: Number(res.headers.get("X-Pages-Drawn")) || pages, width: img.naturalWidth, height: img.naturalHeight };
}

export const usePreview = create<PreviewState>((set, get) => {
  const notify = typeof window !== "undefined" ? notifyClient() : null;

  async function drawDraft(job: { data: unknown; seq: number }, epoch: number) {
    const options = { theme: get().theme, paper: get().paper, locale: get().locale };
    mark("draft.request", job.seq);
    let retry = 0;
    try {
      const pic = await picture(job.data, options, get().width || 600);
      if (epoch !== draftEpoch) {
        if (pic.ok) URL.revokeObjectURL(pic.url);
        return;
      }
      if (!pic.ok) {
        if (pic.status === 503) retry = (pic.retryAfter ?? 1) * 1000; // preview_busy: again when the server says
        else set({ draftError: pic.error });
        return;
      }
      mark("draft.decoded", job.seq);
      const old = get().draft;
      if (old && old.seq > job.seq) {
        URL.revokeObjectURL(pic.url);
        return;
      }
      set({ draft: { ...pic, seq: job.seq, options }, draftError: null });
      // The old picture may still be on screen until React commits the new one.
      if (old) setTimeout(() => URL.revokeObjectURL(old.url), 2000);
    } catch {
      /* offline or a picture the browser cannot decode: the PDF path covers it */
    } finally {
      draftBusy = false;
      if (retry && !draftNext && epoch === draftEpoch) {
        draftNext = job;
        draftTimer = setTimeout(pump, retry);
      } else if (draftNext) pump();
    }
  }

  function pump() {
    draftTimer = null;
    if (draftBusy || !draftNext) return;
    const job = draftNext;
    draftNext = null;
    draftBusy = true;
    void drawDraft(job, draftEpoch);
  }

  async function fetchPdf(my: number, runId: string, version: number, options: PreviewOptions) {
    set({ phase: "fetching" });
    mark("pdf.fetch", version);
    const res = await fetch(api.renderPdfUrl(runId), { credentials: "same-origin" });
    if (my !== ticket) return;
    if (!res.ok) {
      set({ phase: "failed", error: `The PDF could not be fetched (${res.status}).` });
      return;
    }
    const bytes = await res.arrayBuffer();
    mark("pdf.fetched", version);
    if (my !== ticket) return;
    set({ phase: "done", shown: { runId, version, seq: get().requestedSeq, bytes, options }, error: null });
  }

  function onState(my: number, r: Pick<Render, "run_id" | "state" | "error">, version: number, options: PreviewOptions) {
    if (my !== ticket || get().runId !== r.run_id) return;
    const ph = get().phase;
    if (ph === "fetching" || ph === "done") return;
    if (r.state === "done") {
      if (pollTimer) clearTimeout(pollTimer);
      void fetchPdf(my, r.run_id, version, options);
    } else if (r.state === "failed") {
      if (pollTimer) clearTimeout(pollTimer);
      const e = r.error;
      set({ phase: "failed", error: typeof e === "string" ? e : e?.message || "The PDF could not be generated." });
    } else set({ phase: r.state });
  }

  function poll(my: number, runId: string, version: number, options: PreviewOptions, n: number) {
    // Fast while the hub is down (50 ms, slowing to 1 s); a slow safety net while it is up.
    const wait = notify?.connected ? 3000 : Math.min(1000, 50 * 2 ** Math.floor(n / 4));
    pollTimer = setTimeout(async () => {
      if (my !== ticket) return;
      try {
        const { data } = await api.getRender(runId);
        mark("poll." + data.state, version);
        onState(my, data, version, options);
        if (data.state === "queued" || data.state === "running") poll(my, runId, version, options, n + 1);
      } catch {
        poll(my, runId, version, options, n + 1);
      }
    }, wait);
  }

  if (notify) {
    notify.on((m: NotifyMessage) => {
      if (!m.run_id || !m.state) return;
      const s = get();
      mark((m.run_id === s.runId ? "ws." : "ws.other.") + m.state, s.requestedVersion);
      if (m.run_id !== s.runId) {
        const prev = early.get(m.run_id)?.state;
        // Keep the furthest state (messages of one run may be delivered out of order).
        if (prev !== "done" && prev !== "failed") early.set(m.run_id, { run_id: m.run_id, state: m.state as RenderState, error: m.error });
        if (early.size > EARLY_MAX) early.delete(early.keys().next().value as string);
        return;
      }
      onState(ticket, { run_id: m.run_id, state: m.state as RenderState, error: m.error }, s.requestedVersion, { theme: s.theme, paper: s.paper, locale: s.locale });
    });
    notify.onStatus((live) => set({ live }));
  }

  return {
    theme: "classic",
    paper: "a4",
    locale: "en",
    phase: "idle",
    error: null,
    runId: null,
    requestedVersion: 0,
    requestedSeq: 0,
    shown: null,
    draft: null,
    draftError: null,
    width: 0,
    live: false,
    setOptions: (o) => set(o),
    setWidth: (px) => {
      const d = get().draft;
      set({ width: px });
      // A picture much narrower or wider than the pane (it was hidden, or resized) is drawn again.
      if (d && draftLast && Math.abs(d.width - px) > px * 0.2) get().sketch(draftLast.data, draftLast.seq);
    },
    reset: () => {
      ticket++;
      draftEpoch++;
      if (pollTimer) clearTimeout(pollTimer);
      if (draftTimer) clearTimeout(draftTimer);
      draftTimer = null;
      draftNext = draftLast = null;
      const d = get().draft;
      if (d) URL.revokeObjectURL(d.url);
      set({ phase: "idle", error: null, runId: null, requestedVersion: 0, requestedSeq: 0, shown: null, draft: null, draftError: null });
    },
    sketch: (data, seq) => {
      draftNext = draftLast = { data, seq };
      if (draftTimer) clearTimeout(draftTimer);
      draftTimer = setTimeout(pump, DRAFT_DELAY);
    },
    request: (resumeId, version, seq) => {
      const my = ++ticket;
      if (pollTimer) clearTimeout(pollTimer);
      const options = { theme: get().theme, paper: get().paper, locale: get().locale };
      set({ phase: "queued", error: null, requestedVersion: version, requestedSeq: seq ?? get().requestedSeq, runId: null });
      notify?.start();
      mark("render.request", version);
      (async () => {
        try {
          const { data } = await api.render(resumeId, options.theme, options.paper, options.locale);
          mark("render.posted." + data.state, version);
          if (my !== ticket) return;
          set({ runId: data.run_id });
          const seen = early.get(data.run_id);
          early.delete(data.run_id);
          if (seen && (seen.state === "done" || seen.state === "failed") && data.state !== "done" && data.state !== "failed") {
            mark("render.early." + seen.state, version);
            onState(my, seen, version, options);
            return;
          }
          onState(my, data, version, options);
          if (data.state !== "done" && data.state !== "failed") poll(my, data.run_id, version, options, 0);
        } catch (e) {
          if (my === ticket) set({ phase: "failed", error: (e as Error).message });
        }
      })();
    },
  };
});
