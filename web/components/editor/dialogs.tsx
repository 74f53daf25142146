"use client";
import * as React from "react";
import { Check, ChevronDown, Copy, History, Link2, RotateCcw, Share2, Trash2 } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle, DialogTrigger } from "@/components/ui/dialog";
import { toast } from "@/components/ui/toaster";
import { api, ApiError, type ResumeData, type Share, type VersionSummary } from "@/lib/api";
import type { EditorStore } from "@/lib/editor-store";
import { changedFields, resumeSummary } from "@/lib/resume-model";
import { DraftPages } from "@/components/editor/preview-pane";
import { picture, usePreview, type Picture } from "@/lib/preview";
import { cn, formatDate, formatDateTime, relativeTime } from "@/lib/utils";

/** What a version holds and how it differs from the one in the editor, shown before restoring. */
function VersionPreview({ id, version, current }: { id: string; version: number; current: ResumeData }) {
  const [data, setData] = React.useState<ResumeData | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [pic, setPic] = React.useState<Picture | null>(null);
  React.useEffect(() => {
    let live = true;
    api
      .version(id, version)
      .then((r) => live && setData(r.data.data))
      .catch((e) => live && setError((e as Error).message));
    return () => {
      live = false;
    };
  }, [id, version]);
  // How the version looks, in the theme, paper and language picked in the editor.
  React.useEffect(() => {
    if (!data) return;
    let live = true;
    let url: string | null = null;
    const { theme, paper, locale } = usePreview.getState();
    picture(data, { theme, paper, locale }, 600 * Math.min(window.devicePixelRatio || 1, 2))
      .then((p) => {
        if (p.ok) url = p.url;
        if (live) setPic(p);
        else if (url) URL.revokeObjectURL(url);
      })
      .catch(() => live && setPic({ ok: false, status: 0, error: "The picture could not be loaded." }));
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [data]);
  if (error) return <p className="text-xs text-destructive">{error}</p>;
  if (!data)
    return (
      <p role="status" className="text-xs text-muted-foreground">
        Loading…
      </p>
    );
  const changed = changedFields(current, data);
  return (
    <div className="grid gap-3 text-xs sm:grid-cols-[10rem_minmax(0,1fr)]" data-testid={`version-preview-${version}`}>
      <div className="w-40 max-w-full" data-testid={`version-picture-${version}`}>
        {pic === null ? (
          <div role="status" className="grid aspect-[1/1.414] place-items-center rounded-sm bg-muted text-muted-foreground">
            Drawing the first page…
          </div>
        ) : pic.ok ? (
          <>
            <DraftPages draft={pic} limit={1} label={`version ${version}`} />
            <a href={pic.url} target="_blank" rel="noopener" className="mt-1 inline-block text-primary underline-offset-4 hover:underline">
              Open larger<span className="sr-only"> (version {version}, all pages, in a new tab)</span>
            </a>
          </>
        ) : (
          <p className="text-muted-foreground">{pic.error}</p>
        )}
      </div>
      <div className="grid content-start gap-2">
        <div>
          <div className="font-medium">{changed.length ? "Restoring it changes:" : "Same content as the editor."}</div>
          {changed.length > 0 && (
            <ul className="list-disc pl-4 text-muted-foreground" aria-label={`Differences of version ${version}`}>
              {changed.map((c) => (
                <li key={c}>{c}</li>
              ))}
            </ul>
          )}
        </div>
        <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-3 gap-y-1">
          {resumeSummary(data).map((r) => (
            <React.Fragment key={r.label}>
              <dt className="text-muted-foreground">{r.label}</dt>
              <dd className="break-words" dir="auto">
                {r.value}
              </dd>
            </React.Fragment>
          ))}
        </dl>
      </div>
    </div>
  );
}

// Loaded after the editor's first paint (app/editor/page.tsx, lib/lazy.ts); `defaultOpen`
// when the person clicked the button before this module had loaded.
export function HistoryDialog({ store, defaultOpen = false }: { store: EditorStore; defaultOpen?: boolean }) {
  const [open, setOpen] = React.useState(defaultOpen);
  const [items, setItems] = React.useState<VersionSummary[] | null>(null);
  const [busy, setBusy] = React.useState<number | null>(null);
  const [shown, setShown] = React.useState<number | null>(null);
  const [now, setNow] = React.useState(() => Date.now());
  const id = store.getState().id;
  React.useEffect(() => {
    if (!open) return;
    setShown(null);
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 15000);
    return () => clearInterval(t);
  }, [open]);
  React.useEffect(() => {
    if (!open) return;
    setItems(null);
    void store.getState().flush().then(() => api.versions(id)).then((r) => setItems(r.data.items)).catch((e) => toast("Could not load the history", (e as Error).message, "destructive"));
  }, [open, id, store]);
  async function restore(v: number) {
    setBusy(v);
    try {
      await store.getState().flush();
      const { data } = await api.restoreVersion(id, v, store.getState().version);
      const fresh = await api.getResume(id);
      store.getState().load({ ...fresh.data, version: fresh.data.version ?? data.version });
      toast("Version restored", `Version ${v} is now the current version (saved as a new version).`);
      setOpen(false);
    } catch (e) {
      toast("Could not restore", e instanceof ApiError && e.status === 412 ? "The resume changed meanwhile; reload and try again." : (e as Error).message, "destructive");
    } finally {
      setBusy(null);
    }
  }
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>
        <Button variant="outline" size="sm">
          <History aria-hidden="true" /> <span className="hidden md:inline">History</span>
          <span className="sr-only md:hidden">Version history</span>
        </Button>
      </DialogTrigger>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>Version history</DialogTitle>
          <DialogDescription>Every save is kept. Show a version to see what it holds; restoring it makes a new version, nothing is lost.</DialogDescription>
        </DialogHeader>
        {items === null ? (
          <p className="text-sm text-muted-foreground" role="status">
            Loading…
          </p>
        ) : (
          <ol className="max-h-[60vh] min-w-0 divide-y overflow-y-auto rounded-lg border" aria-label="Versions, newest first">
            {items.map((v, i) => (
              <li key={v.version} className="grid gap-2 p-3">
                <div className="flex flex-wrap items-center gap-2">
                  <div className="min-w-0 flex-1">
                    <div className="text-sm font-medium">
                      Version {v.version} {i === 0 && <span className="text-xs font-normal text-muted-foreground">(current)</span>}
                    </div>
                    <div className="text-xs text-muted-foreground">
                      <time dateTime={v.created_at} title={formatDateTime(v.created_at)}>
                        {relativeTime(v.created_at, now)} · {formatDateTime(v.created_at)}
                      </time>
                    </div>
                  </div>
                  {i > 0 && (
                    <div className="flex gap-2">
                      <Button size="sm" variant="ghost" aria-expanded={shown === v.version} onClick={() => setShown(shown === v.version ? null : v.version)} aria-label={`Show version ${v.version}`}>
                        <ChevronDown aria-hidden="true" className={cn("transition-transform", shown !== v.version && "-rotate-90")} /> Show
                      </Button>
                      <Button size="sm" variant="outline" disabled={busy !== null} onClick={() => restore(v.version)} aria-label={`Restore version ${v.version}`}>
                        <RotateCcw aria-hidden="true" /> Restore
                      </Button>
                    </div>
                  )}
                </div>
                {shown === v.version && <VersionPreview id={id} version={v.version} current={store.getState().data} />}
              </li>
            ))}
          </ol>
        )}
      </DialogContent>
    </Dialog>
  );
}

export function ShareDialog({ id, defaultOpen = false }: { id: string; defaultOpen?: boolean }) {
  const [open, setOpen] = React.useState(defaultOpen);
  const [share, setShare] = React.useState<Share | null | undefined>(undefined);
  const [busy, setBusy] = React.useState(false);
  const [copied, setCopied] = React.useState<"yes" | "no" | null>(null);
  React.useEffect(() => {
    if (!open) return;
    setShare(undefined);
    setCopied(null);
    api
      .getShare(id)
      .then((r) => setShare(r.data.shared ? r.data : null))
      .catch((e) => toast("Could not load the share link", (e as Error).message, "destructive"));
  }, [open, id]);
  React.useEffect(() => {
    if (copied !== "yes") return;
    const t = setTimeout(() => setCopied(null), 3000);
    return () => clearTimeout(t);
  }, [copied]);
  const link = share ? `${location.origin}/share?s=${encodeURIComponent(share.slug)}` : "";
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>
        <Button variant="outline" size="sm">
          <Share2 aria-hidden="true" /> <span className="hidden md:inline">Share</span>
          <span className="sr-only md:hidden">Share</span>
        </Button>
      </DialogTrigger>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>Share a read-only link</DialogTitle>
          <DialogDescription>Anyone with the link sees the newest PDF of this resume, without signing in.</DialogDescription>
        </DialogHeader>
        {share === undefined ? (
          <p role="status" className="text-sm text-muted-foreground">
            Loading…
          </p>
        ) : share === null ? (
          <Button
            className="w-fit"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                setShare((await api.createShare(id)).data);
              } catch (e) {
                toast("Could not create the link", (e as Error).message, "destructive");
              } finally {
                setBusy(false);
              }
            }}
          >
            <Link2 aria-hidden="true" /> Create link
          </Button>
        ) : (
          <div className="grid gap-3">
            <Label htmlFor="share-link">Link</Label>
            <div className="flex min-w-0 gap-2">
              <Input id="share-link" readOnly value={link} onFocus={(e) => e.target.select()} />
              <Button
                variant="outline"
                className="shrink-0"
                onClick={async () => {
                  try {
                    await navigator.clipboard.writeText(link);
                    setCopied("yes");
                  } catch {
                    setCopied("no");
                    (document.getElementById("share-link") as HTMLInputElement | null)?.select();
                  }
                }}
              >
                {copied === "yes" ? <Check aria-hidden="true" /> : <Copy aria-hidden="true" />} {copied === "yes" ? "Copied" : "Copy"}
              </Button>
            </div>
            {/* Said here, not in a toast: a toast is a layer of its own and would take the first Escape. */}
            <p role="status" aria-live="polite" className={cn("text-sm", copied === "no" ? "text-destructive" : "text-muted-foreground", !copied && "sr-only")} data-testid="share-copied">
              {copied === "yes" ? "Link copied." : copied === "no" ? "The browser did not allow copying; the link is selected, copy it by hand." : ""}
            </p>
            <p className="text-sm text-muted-foreground" data-testid="share-views">
              Opened {share.views} time{share.views === 1 ? "" : "s"} · created {formatDate(share.created_at)}
            </p>
            <Button
              variant="ghost"
              className="w-fit text-destructive"
              disabled={busy}
              onClick={async () => {
                setBusy(true);
                try {
                  await api.deleteShare(id);
                  setShare(null);
                  toast("Link revoked", "The old link no longer works.");
                } catch (e) {
                  toast("Could not revoke the link", (e as Error).message, "destructive");
                } finally {
                  setBusy(false);
                }
              }}
            >
              <Trash2 aria-hidden="true" /> Revoke link
            </Button>
          </div>
        )}
      </DialogContent>
    </Dialog>
  );
}
