"use client";
import * as React from "react";
import { Suspense } from "react";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useStore } from "zustand";
import { AlertTriangle, ArrowLeft, Check, CloudOff, Download, History, Loader2, Share2 } from "lucide-react";
import { PageLoading, UserMenu, useRequireAuth } from "@/components/app-shell";
import { BasicsForm, EditorStoreProvider, SectionsForm } from "@/components/editor/forms";
import { PreviewPane } from "@/components/editor/preview-pane";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { api, ApiError, versionFromEtag, type Theme } from "@/lib/api";
import { createEditorStore, type EditorStore } from "@/lib/editor-store";
import { guessLocale } from "@/lib/resume-model";
import { useIdleModule } from "@/lib/lazy";
import { warmPdf } from "@/lib/pdf";
import { notifyClient } from "@/lib/notify";
import { LOCALES, usePreview } from "@/lib/preview";
import { cn, pdfFileName } from "@/lib/utils";

export default function EditorPage() {
  return (
    <Suspense fallback={<PageLoading />}>
      <EditorRoute />
    </Suspense>
  );
}

function EditorRoute() {
  const ready = useRequireAuth();
  const id = useSearchParams().get("id") || "";
  if (!ready) return <PageLoading />;
  if (!id) return <Missing text="No resume was named in the address." />;
  return <EditorLoader key={id} id={id} />;
}

function Missing({ text }: { text: string }) {
  return (
    <main id="main" className="grid min-h-screen place-items-center px-4 text-center">
      <div>
        <h1 className="text-xl font-semibold">Resume not found</h1>
        <p className="mt-2 text-muted-foreground">{text}</p>
        <Link href="/dashboard" className="mt-4 inline-block font-medium text-primary underline-offset-4 hover:underline">
          Back to your resumes
        </Link>
      </div>
    </main>
  );
}

const save = async (id: string, version: number, title: string, data: Record<string, unknown>) => {
  const r = await api.putResume(id, version, title, data);
  return { version: r.data.version ?? versionFromEtag(r.etag) ?? version + 1, warnings: r.data.warnings };
};

function EditorLoader({ id }: { id: string }) {
  const store = React.useMemo(() => createEditorStore(save), []);
  const [state, setState] = React.useState<"loading" | "ok" | "missing" | "error">("loading");
  const [error, setError] = React.useState("");
  React.useEffect(() => {
    let live = true;
    usePreview.getState().reset();
    warmPdf(); // pdf.js and its worker load while the resume does
    (async () => {
      try {
        const { data } = await api.getResume(id);
        if (!live) return;
        store.getState().load(data);
        // Start from the options of the newest render, or what this browser used last.
        const saved = localStorage.getItem("rg.preview." + id);
        const last = saved ? JSON.parse(saved) : null;
        if (last) usePreview.getState().setOptions(last);
        else {
          const r = await api.listRenders(id, 1).catch(() => null);
          const it = r?.data.items[0];
          if (it?.theme) usePreview.getState().setOptions({ theme: it.theme, paper: it.paper || "a4", locale: it.locale || "en" });
          // Never rendered: headings in the language the resume is written in.
          else usePreview.getState().setOptions({ locale: guessLocale(data.data, LOCALES.map((l) => l.code)) });
        }
        setState("ok");
        usePreview.getState().request(id, data.version);
      } catch (e) {
        if (!live) return;
        if (e instanceof ApiError && e.status === 404) setState("missing");
        else {
          setError((e as Error).message);
          setState("error");
        }
      }
    })();
    return () => {
      live = false;
    };
  }, [id, store]);
  if (state === "loading") return <PageLoading label="Opening the resume" />;
  if (state === "missing") return <Missing text="It may have been deleted, or it belongs to another account." />;
  if (state === "error") return <Missing text={error} />;
  return (
    <EditorStoreProvider value={store}>
      <Editor store={store} />
    </EditorStoreProvider>
  );
}

function SaveIndicator({ store }: { store: EditorStore }) {
  const status = useStore(store, (s) => s.status);
  const error = useStore(store, (s) => s.error);
  const version = useStore(store, (s) => s.version);
  const editSeq = useStore(store, (s) => s.editSeq);
  const map = {
    saved: { icon: <Check aria-hidden="true" className="size-3.5 text-success" />, text: "Saved" },
    pending: { icon: <Loader2 aria-hidden="true" className="size-3.5" />, text: "Unsaved changes" },
    saving: { icon: <Loader2 aria-hidden="true" className="size-3.5 animate-spin" />, text: "Saving…" },
    error: { icon: <CloudOff aria-hidden="true" className="size-3.5 text-destructive" />, text: "Not saved" },
    conflict: { icon: <AlertTriangle aria-hidden="true" className="size-3.5 text-destructive" />, text: "Conflict" },
  }[status];
  return (
    <span role="status" aria-live="polite" className="flex items-center gap-1 text-xs text-muted-foreground" data-testid="save-status" data-status={status} data-version={version} data-edit-seq={editSeq} title={error || undefined}>
      {map.icon}
      <span className="max-sm:sr-only">{map.text}</span>
    </span>
  );
}

function ConflictBanner({ store }: { store: EditorStore }) {
  const status = useStore(store, (s) => s.status);
  const conflictVersion = useStore(store, (s) => s.conflictVersion);
  const [busy, setBusy] = React.useState(false);
  if (status !== "conflict") return null;
  return (
    <Alert variant="destructive" className="mb-4" data-testid="conflict">
      <AlertTitle>This resume was changed in another tab or on another device</AlertTitle>
      <AlertDescription>
        Your latest edits are still here and were not saved, and the other changes were not overwritten. Choose which version to keep; Download PDF is off until you do, since the PDF holds neither.
        <div className="mt-3 flex flex-wrap gap-2">
          <Button
            size="sm"
            variant="outline"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                const { data } = await api.getResume(store.getState().id);
                store.getState().load(data);
                usePreview.getState().request(data.id, data.version);
              } finally {
                setBusy(false);
              }
            }}
          >
            Load the other version (discard mine)
          </Button>
          <Button
            size="sm"
            variant="destructive"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                let v = conflictVersion;
                if (v === null) v = (await api.getResume(store.getState().id)).data.version;
                await store.getState().overwrite(v);
              } finally {
                setBusy(false);
              }
            }}
          >
            Keep mine (overwrite the other)
          </Button>
        </div>
      </AlertDescription>
    </Alert>
  );
}

/** Another tab or device saved a newer version while this one sat idle: the hub tells of
 * the render that save started (a run of this resume), and one GET says whether the
 * server's version is newer than ours.  With unsaved edits here, the next save's 412
 * shows the conflict instead. */
function NewerVersionBanner({ store }: { store: EditorStore }) {
  const id = useStore(store, (s) => s.id);
  const [newer, setNewer] = React.useState<number | null>(null);
  React.useEffect(() => {
    const seen = new Set<string>();
    const off = notifyClient().on((m) => {
      // Runs of this tab's own saves are skipped (the version check would find nothing).
      if (m.resume_id !== id || !m.run_id || seen.has(m.run_id) || m.run_id === usePreview.getState().runId) return;
      seen.add(m.run_id);
      void api
        .getResume(id)
        .then(({ data }) => {
          const s = store.getState();
          if (data.version > s.version && s.status === "saved") setNewer(data.version);
        })
        .catch(() => {});
    });
    return () => {
      off();
    };
  }, [id, store]);
  const version = useStore(store, (s) => s.version);
  const status = useStore(store, (s) => s.status);
  if (newer === null || newer <= version || status === "conflict") return null;
  return (
    <Alert className="mb-4" data-testid="newer-version">
      <AlertTitle>A newer version was saved in another tab or on another device</AlertTitle>
      <AlertDescription>
        This page shows version {version}; version {newer} is the latest. Load it before editing here, or your next edit will conflict with it.
        <div className="mt-3">
          <Button
            size="sm"
            variant="outline"
            onClick={async () => {
              const { data } = await api.getResume(id);
              store.getState().load(data);
              setNewer(null);
            }}
          >
            Load version {newer}
          </Button>
        </div>
      </AlertDescription>
    </Alert>
  );
}

function Pickers({ onChange }: { onChange: () => void }) {
  const { theme, paper, locale, setOptions } = usePreview();
  const [themes, setThemes] = React.useState<Theme[]>([]);
  React.useEffect(() => {
    api.themes().then((r) => setThemes(r.data.items)).catch(() => setThemes([]));
  }, []);
  const change = (o: Partial<{ theme: string; paper: string; locale: string }>) => {
    setOptions(o);
    onChange();
  };
  return (
    <div className="grid grid-cols-3 gap-2">
      <div className="grid gap-1">
        <Label htmlFor="pick-theme" className="text-xs text-muted-foreground">
          Theme
        </Label>
        <NativeSelect id="pick-theme" className="h-8" value={theme} onChange={(e) => change({ theme: e.target.value })}>
          {(themes.length ? themes : [{ name: theme, description: "" }]).map((t) => (
            <option key={t.name} value={t.name}>
              {t.name.charAt(0).toUpperCase() + t.name.slice(1)}
            </option>
          ))}
        </NativeSelect>
      </div>
      <div className="grid gap-1">
        <Label htmlFor="pick-paper" className="text-xs text-muted-foreground">
          Paper
        </Label>
        <NativeSelect id="pick-paper" className="h-8" value={paper} onChange={(e) => change({ paper: e.target.value })}>
          <option value="a4">A4</option>
          <option value="letter">Letter</option>
        </NativeSelect>
      </div>
      <div className="grid gap-1">
        <Label htmlFor="pick-locale" className="text-xs text-muted-foreground">
          Language
        </Label>
        <NativeSelect id="pick-locale" className="h-8" value={locale} onChange={(e) => change({ locale: e.target.value })}>
          {LOCALES.map((l) => (
            <option key={l.code} value={l.code} lang={l.code}>
              {l.name}
            </option>
          ))}
        </NativeSelect>
      </div>
    </div>
  );
}

/** History and Share: their dialogs load after the first paint; until then the same buttons
 * load them at once and open the one clicked. */
function EditorDialogs({ store, id }: { store: EditorStore; id: string }) {
  const { mod, now } = useIdleModule(() => import("@/components/editor/dialogs"));
  const [asked, setAsked] = React.useState<"history" | "share" | null>(null);
  if (mod)
    return (
      <>
        <mod.HistoryDialog store={store} defaultOpen={asked === "history"} />
        <mod.ShareDialog id={id} defaultOpen={asked === "share"} />
      </>
    );
  const ask = (which: "history" | "share") => () => {
    setAsked(which);
    now();
  };
  return (
    <>
      <Button variant="outline" size="sm" aria-haspopup="dialog" aria-expanded={false} onClick={ask("history")}>
        <History aria-hidden="true" /> <span className="hidden md:inline">History</span>
        <span className="sr-only md:hidden">Version history</span>
      </Button>
      <Button variant="outline" size="sm" aria-haspopup="dialog" aria-expanded={false} onClick={ask("share")}>
        <Share2 aria-hidden="true" /> <span className="hidden md:inline">Share</span>
        <span className="sr-only md:hidden">Share</span>
      </Button>
    </>
  );
}

function Editor({ store }: { store: EditorStore }) {
  const id = useStore(store, (s) => s.id);
  const title = useStore(store, (s) => s.title);
  const version = useStore(store, (s) => s.version);
  const status = useStore(store, (s) => s.status);
  const shown = usePreview((s) => s.shown);
  const [view, setView] = React.useState<"edit" | "preview">("edit");

  // A new saved version -> a new PDF.
  const lastRequested = React.useRef(version);
  React.useEffect(() => {
    if (version !== lastRequested.current) {
      lastRequested.current = version;
      usePreview.getState().request(id, version, store.getState().savedSeq);
    }
  }, [id, version, store]);

  // Every change to the document -> a draft picture (after a short pause, see lib/preview.ts).
  React.useEffect(() => {
    const s0 = store.getState();
    usePreview.getState().sketch(s0.data, s0.editSeq);
    return store.subscribe((s, prev) => {
      if (s.data !== prev.data) usePreview.getState().sketch(s.data, s.editSeq);
    });
  }, [store]);

  // Save before the tab goes away; warn when something could not be saved.
  React.useEffect(() => {
    const h = (e: BeforeUnloadEvent) => {
      const s = store.getState();
      if (s.editSeq > s.savedSeq) {
        void s.flush();
        e.preventDefault();
      }
    };
    window.addEventListener("beforeunload", h);
    return () => window.removeEventListener("beforeunload", h);
  }, [store]);

  const upToDate = shown && shown.version === version && status === "saved";
  // In a conflict the saved PDF is neither what is on screen nor what the other tab saved.
  const canDownload = !!shown && status !== "conflict";
  const fileName = pdfFileName(title);

  return (
    <div className="flex min-h-screen flex-col">
      <header className="sticky top-0 z-40 border-b bg-card/95 backdrop-blur">
        <div className="flex h-14 items-center gap-1 px-2 sm:gap-2 sm:px-4">
          <Button variant="ghost" size="icon" asChild>
            <Link href="/dashboard" aria-label="Back to your resumes">
              <ArrowLeft aria-hidden="true" />
            </Link>
          </Button>
          <div className="min-w-0 flex-1">
            <Label htmlFor="resume-title" className="sr-only">
              Resume name
            </Label>
            <Input
              id="resume-title"
              value={title}
              dir="auto"
              title={title}
              onChange={(e) => store.getState().setTitle(e.target.value)}
              className="h-8 max-w-xs truncate border-transparent bg-transparent px-1 text-left font-semibold shadow-none hover:border-input"
            />
          </div>
          <SaveIndicator store={store} />
          <EditorDialogs store={store} id={id} />
          <Button
            size="sm"
            asChild={canDownload}
            disabled={!canDownload}
            title={status === "conflict" ? "Resolve the conflict first: the PDF is of neither version" : upToDate ? undefined : `The PDF of version ${shown?.version ?? "…"}, the last saved; your newest edits follow when saved`}
          >
            {canDownload && shown ? (
              <a href={api.renderPdfUrl(shown.runId)} download={fileName} data-testid="download-pdf">
                <Download aria-hidden="true" /> <span className="hidden sm:inline">Download PDF</span>
                <span className="sr-only sm:hidden">Download PDF</span>
              </a>
            ) : (
              <>
                <Download aria-hidden="true" /> <span className="hidden sm:inline">Download PDF</span>
                <span className="sr-only sm:hidden">Download PDF</span>
              </>
            )}
          </Button>
          <UserMenu />
        </div>
        <div className="flex border-t lg:hidden" role="tablist" aria-label="Editor view">
          {(["edit", "preview"] as const).map((v) => (
            <button
              key={v}
              role="tab"
              aria-selected={view === v}
              className={cn("flex-1 py-2 text-sm font-medium outline-none focus-visible:ring-[3px] focus-visible:ring-ring/50", view === v ? "border-b-2 border-primary text-foreground" : "text-muted-foreground")}
              onClick={() => setView(v)}
            >
              {v === "edit" ? "Edit" : "Preview"}
            </button>
          ))}
        </div>
      </header>
      <main id="main" className="grid flex-1 grid-cols-1 lg:grid-cols-[minmax(0,1fr)_minmax(380px,44%)]">
        <div className={cn("min-w-0 p-3 sm:p-6", view !== "edit" && "hidden lg:block")}>
          <h1 className="sr-only">Edit {title}</h1>
          <ConflictBanner store={store} />
          <NewerVersionBanner store={store} />
          <div className="mx-auto grid max-w-3xl grid-cols-1 gap-4">
            <BasicsForm />
            <SectionsForm />
          </div>
        </div>
        <aside aria-label="Preview and layout" className={cn("min-w-0 border-l bg-card/50 p-3 sm:p-4 lg:sticky lg:top-14 lg:h-[calc(100vh-3.5rem)]", view !== "preview" && "hidden lg:block")}>
          <div className="flex h-full flex-col gap-3">
            <Pickers
              onChange={() => {
                const o = usePreview.getState();
                localStorage.setItem("rg.preview." + id, JSON.stringify({ theme: o.theme, paper: o.paper, locale: o.locale }));
                const s = store.getState();
                usePreview.getState().sketch(s.data, s.editSeq);
                usePreview.getState().request(id, s.version, s.savedSeq);
              }}
            />
            <div className="min-h-0 flex-1">
              <PreviewPane editorStatus={status} />
            </div>
          </div>
        </aside>
      </main>
    </div>
  );
}
