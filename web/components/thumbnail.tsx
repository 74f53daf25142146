"use client";
import * as React from "react";
import { FileText } from "lucide-react";
import { api, ApiError, request, type Render } from "@/lib/api";
import { thumbnail } from "@/lib/pdf";

// First page of the newest generated PDF of a resume, drawn by pdf.js.  Kept per resume
// and version for the life of the page, so going back to the dashboard is instant.
const cache = new Map<string, string>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Requests the first PDF of a resume (default options; one per version, by Idempotency-Key)
 * or follows a pending one, polling up to about 60 s.  The finished render, or null. */
async function firstRender(id: string, version: number, pending: Render | undefined, live: () => boolean): Promise<Render | null> {
  let run = pending;
  if (!run) {
    const r = await request<Render>("/resumes/" + encodeURIComponent(id) + "/renders", {
      method: "POST",
      body: { theme: "classic", paper: "a4", locale: "en" },
      headers: { "Idempotency-Key": `first-thumbnail-${id}-${version}` },
    });
    run = r.data;
  }
  for (let wait = 250, spent = 0; live() && spent < 60000; spent += wait, wait = Math.min(wait * 2, 3000)) {
    if (run.state === "done") return run;
    if (run.state === "failed") return null;
    await sleep(wait);
    try {
      run = (await api.getRender(run.run_id)).data;
    } catch (e) {
      if (!(e instanceof ApiError) || e.status >= 500 || e.status === 0) continue;
      return null;
    }
  }
  return null;
}

export function ResumeThumbnail({ id, version, title }: { id: string; version: number; title: string }) {
  const key = id + ":" + version;
  const [src, setSrc] = React.useState<string | null>(cache.get(key) ?? null);
  const [state, setState] = React.useState<"loading" | "none" | "ok">(cache.has(key) ? "ok" : "loading");

  React.useEffect(() => {
    if (cache.has(key)) return;
    let live = true;
    (async () => {
      try {
        const { data } = await api.listRenders(id, 5);
        let done = data.items.find((r) => r.state === "done");
        if (!done) {
          // Never rendered (imported, duplicated, or created and not opened): ask for a
          // first PDF, or follow the one on its way, so the card gets its picture.
          const pending = data.items.find((r) => r.state === "queued" || r.state === "running");
          if (!pending && data.items.length) {
            if (live) setState("none"); // every attempt failed: the editor shows why
            return;
          }
          done = (await firstRender(id, version, pending, () => live)) ?? undefined;
          if (!done) {
            if (live) setState("none");
            return;
          }
        }
        const res = await fetch(api.renderPdfUrl(done.run_id), { credentials: "same-origin" });
        if (!res.ok) throw new Error("pdf " + res.status);
        const url = await thumbnail(await res.arrayBuffer(), 220);
        cache.set(key, url);
        if (live) {
          setSrc(url);
          setState("ok");
        }
      } catch {
        if (live) setState("none");
      }
    })();
    return () => {
      live = false;
    };
  }, [id, key, version]);

  return (
    <div className="relative aspect-[1/1.414] w-full overflow-hidden rounded-t-xl border-b bg-muted">
      {state === "ok" && src ? (
        // eslint-disable-next-line @next/next/no-img-element
        <img src={src} alt={"First page of " + title} className="h-full w-full object-cover object-top" />
      ) : (
        <div className="grid h-full place-items-center text-muted-foreground">
          <div className="flex flex-col items-center gap-2 text-xs">
            <FileText aria-hidden="true" className="size-8 opacity-60" />
            {state === "loading" ? <span className="sr-only">Loading preview</span> : <span>No PDF yet</span>}
          </div>
        </div>
      )}
    </div>
  );
}
