"use client";
import * as React from "react";
import { Copy, History, Link2, RotateCcw, Share2, Trash2 } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle, DialogTrigger } from "@/components/ui/dialog";
import { toast } from "@/components/ui/toaster";
import { api, ApiError, type Share, type VersionSummary } from "@/lib/api";
import type { EditorStore } from "@/lib/editor-store";
import { formatDate } from "@/lib/utils";

// Loaded after the editor's first paint (app/editor/page.tsx, lib/lazy.ts); `defaultOpen`
// when the person clicked the button before this module had loaded.
export function HistoryDialog({ store, defaultOpen = false }: { store: EditorStore; defaultOpen?: boolean }) {
  const [open, setOpen] = React.useState(defaultOpen);
  const [items, setItems] = React.useState<VersionSummary[] | null>(null);
  const [busy, setBusy] = React.useState<number | null>(null);
  const id = store.getState().id;
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
          <DialogDescription>Every save is kept. Restoring a version makes a new version of it; nothing is lost.</DialogDescription>
        </DialogHeader>
        {items === null ? (
          <p className="text-sm text-muted-foreground" role="status">
            Loading…
          </p>
        ) : (
          <ol className="max-h-96 divide-y overflow-y-auto rounded-lg border" aria-label="Versions, newest first">
            {items.map((v, i) => (
              <li key={v.version} className="flex items-center gap-3 p-3">
                <div className="min-w-0 flex-1">
                  <div className="text-sm font-medium">
                    Version {v.version} {i === 0 && <span className="text-xs font-normal text-muted-foreground">(current)</span>}
                  </div>
                  <div className="text-xs text-muted-foreground">{formatDate(v.created_at)}</div>
                </div>
                {i > 0 && (
                  <Button size="sm" variant="outline" disabled={busy !== null} onClick={() => restore(v.version)} aria-label={`Restore version ${v.version}`}>
                    <RotateCcw aria-hidden="true" /> Restore
                  </Button>
                )}
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
  React.useEffect(() => {
    if (!open) return;
    setShare(undefined);
    api
      .getShare(id)
      .then((r) => setShare(r.data))
      .catch((e) => {
        if (e instanceof ApiError && (e.status === 404 || e.code === "not_shared")) setShare(null);
        else toast("Could not load the share link", (e as Error).message, "destructive");
      });
  }, [open, id]);
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
            <div className="flex gap-2">
              <Input id="share-link" readOnly value={link} onFocus={(e) => e.target.select()} />
              <Button
                variant="outline"
                onClick={async () => {
                  try {
                    await navigator.clipboard.writeText(link);
                    toast("Link copied");
                  } catch {
                    toast("Copy it by hand", "The browser did not allow copying; the link is selected.", "destructive");
                  }
                }}
              >
                <Copy aria-hidden="true" /> Copy
              </Button>
            </div>
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
