"use client";
// The live preview (Zustand): asks rg-core for a PDF of the saved version with the chosen
// theme, paper and language, follows the run through the hub (lib/notify.ts) or, while the
// hub is down, by polling GET renders/{id}, then fetches the PDF.  Only the newest request
// counts: an older run that finishes late is ignored.  The PDF on screen stays until the
// next one is ready (the component swaps it in).
import { create } from "zustand";
import { api, type Render, type RenderState } from "./api";
import { notifyClient, type NotifyMessage } from "./notify";
import { mark } from "./trace";

export type PreviewOptions = { theme: string; paper: string; locale: string };
export type PreviewPhase = "idle" | RenderState | "fetching";

type PreviewState = PreviewOptions & {
  phase: PreviewPhase;
  error: string | null;
  runId: string | null;
  requestedVersion: number;
  shown: { runId: string; version: number; bytes: ArrayBuffer; options: PreviewOptions } | null;
  live: boolean;
  setOptions: (o: Partial<PreviewOptions>) => void;
  request: (resumeId: string, version: number) => void;
  reset: () => void;
};

let ticket = 0;
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

export const usePreview = create<PreviewState>((set, get) => {
  const notify = typeof window !== "undefined" ? notifyClient() : null;

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
    set({ phase: "done", shown: { runId, version, bytes, options }, error: null });
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
    shown: null,
    live: false,
    setOptions: (o) => set(o),
    reset: () => {
      ticket++;
      if (pollTimer) clearTimeout(pollTimer);
      set({ phase: "idle", error: null, runId: null, requestedVersion: 0, shown: null });
    },
    request: (resumeId, version) => {
      const my = ++ticket;
      if (pollTimer) clearTimeout(pollTimer);
      const options = { theme: get().theme, paper: get().paper, locale: get().locale };
      set({ phase: "queued", error: null, requestedVersion: version, runId: null });
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
