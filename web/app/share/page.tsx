"use client";
import * as React from "react";
import { Suspense } from "react";
import { useSearchParams } from "next/navigation";
import { Download } from "lucide-react";
import { Logo } from "@/components/logo";
import { Button } from "@/components/ui/button";
import { PageLoading } from "@/components/app-shell";
import { api, ApiError } from "@/lib/api";
import { drawPage, openPdf } from "@/lib/pdf";
import { formatDate } from "@/lib/utils";

export default function SharePage() {
  return (
    <Suspense fallback={<PageLoading />}>
      <Shared />
    </Suspense>
  );
}

function Shared() {
  const slug = useSearchParams().get("s") || "";
  const [meta, setMeta] = React.useState<{ title: string; name: string; updated_at: string } | null>(null);
  const [state, setState] = React.useState<"loading" | "ok" | "missing" | "nopdf">("loading");
  const host = React.useRef<HTMLDivElement>(null);

  React.useEffect(() => {
    if (!slug) {
      setState("missing");
      return;
    }
    let live = true;
    (async () => {
      try {
        const { data } = await api.publicResume(slug);
        const basics = (data.data.basics || {}) as { name?: string };
        if (!live) return;
        setMeta({ title: data.title, name: basics.name || data.title, updated_at: data.updated_at });
        const res = await fetch(api.publicPdfUrl(slug));
        if (!res.ok) {
          setState("nopdf");
          return;
        }
        const doc = await openPdf(await res.arrayBuffer());
        const width = Math.min(860, (host.current?.clientWidth || 800) - 8);
        const pages: HTMLCanvasElement[] = [];
        for (let i = 1; i <= doc.numPages; i++) {
          const c = await drawPage(doc, i, width);
          c.className = "mx-auto block h-auto w-full max-w-[860px] bg-white shadow-md";
          c.setAttribute("role", "img");
          c.setAttribute("aria-label", `Page ${i} of ${doc.numPages}`);
          pages.push(c);
        }
        void doc.destroy();
        if (!live || !host.current) return;
        host.current.replaceChildren(...pages);
        setState("ok");
      } catch (e) {
        if (live) setState(e instanceof ApiError && e.status === 404 ? "missing" : "nopdf");
      }
    })();
    return () => {
      live = false;
    };
  }, [slug]);

  return (
    <div className="min-h-screen bg-muted/60">
      <header className="border-b bg-card">
        <div className="mx-auto flex h-14 max-w-5xl items-center gap-3 px-4">
          <Logo />
          {state === "ok" && (
            <Button size="sm" className="ml-auto" asChild>
              <a href={api.publicPdfUrl(slug)} download={(meta?.name || "resume") + ".pdf"}>
                <Download aria-hidden="true" /> Download PDF
              </a>
            </Button>
          )}
        </div>
      </header>
      <main id="main" className="mx-auto max-w-5xl px-4 py-6">
        {state === "missing" ? (
          <div className="py-20 text-center">
            <h1 className="text-xl font-semibold">This link does not work</h1>
            <p className="mt-2 text-muted-foreground">It may have been revoked by its owner.</p>
          </div>
        ) : (
          <>
            <h1 className="mb-1 text-xl font-semibold" data-testid="shared-name">
              {meta?.name || "Loading…"}
            </h1>
            {meta && <p className="mb-4 text-sm text-muted-foreground">Updated {formatDate(meta.updated_at)}</p>}
            {state === "nopdf" && <p className="text-muted-foreground">No PDF has been made of this resume yet.</p>}
            {state === "loading" && <PageLoading label="Loading the resume" />}
            <div ref={host} className="grid gap-4" data-testid="shared-pages" />
          </>
        )}
      </main>
    </div>
  );
}
