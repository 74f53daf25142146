"use client";
import * as React from "react";
import { FileText } from "lucide-react";
import { api } from "@/lib/api";
import { thumbnail } from "@/lib/pdf";

// First page of the newest generated PDF of a resume, drawn by pdf.js.  Kept per resume
// and version for the life of the page, so going back to the dashboard is instant.
const cache = new Map<string, string>();

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
        const done = data.items.find((r) => r.state === "done");
        if (!done) {
          if (live) setState("none");
          return;
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
  }, [id, key]);

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
