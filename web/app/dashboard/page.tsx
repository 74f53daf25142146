"use client";
import * as React from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { Copy, Download, FilePlus2, MoreVertical, Pencil, RotateCcw, Trash2, Upload } from "lucide-react";
import { AppHeader, PageLoading, useRequireAuth } from "@/components/app-shell";
import { ResumeThumbnail } from "@/components/thumbnail";
import { Field } from "@/components/field";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Alert } from "@/components/ui/alert";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuSeparator, DropdownMenuTrigger } from "@/components/ui/dropdown-menu";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { toast } from "@/components/ui/toaster";
import { api, ApiError, type ResumeSummary, type Warning } from "@/lib/api";
import { useSession } from "@/lib/session";
import { importTitle, starterResume } from "@/lib/resume-model";
import { formatDate } from "@/lib/utils";

function errText(e: unknown) {
  return e instanceof Error ? e.message : String(e);
}

export default function DashboardPage() {
  const ready = useRequireAuth();
  const user = useSession((s) => s.user);
  const router = useRouter();
  const [items, setItems] = React.useState<ResumeSummary[] | null>(null);
  const [trash, setTrash] = React.useState<ResumeSummary[] | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [createOpen, setCreateOpen] = React.useState(false);
  const [rename, setRename] = React.useState<ResumeSummary | null>(null);
  const [imported, setImported] = React.useState<{ id: string; title: string; warnings: Warning[] } | null>(null);
  const fileRef = React.useRef<HTMLInputElement>(null);

  const load = React.useCallback(async () => {
    try {
      const [a, b] = await Promise.all([api.listResumes(), api.listResumes({ deleted: true })]);
      setItems(a.data.items);
      setTrash(b.data.items);
      setError(null);
    } catch (e) {
      setError(errText(e));
    }
  }, []);

  React.useEffect(() => {
    if (ready) void load();
  }, [ready, load]);

  if (!ready) return <PageLoading />;

  async function create(title: string) {
    const { data } = await api.createResume(title, starterResume(user?.name || "", user?.email || ""));
    router.push("/editor?id=" + encodeURIComponent(data.id));
  }

  async function duplicate(r: ResumeSummary) {
    try {
      const { data } = await api.getResume(r.id);
      await api.createResume("Copy of " + r.title, data.data);
      toast("Duplicated", `“Copy of ${r.title}” was created.`);
      await load();
    } catch (e) {
      toast("Could not duplicate", errText(e), "destructive");
    }
  }

  async function remove(r: ResumeSummary) {
    try {
      await api.deleteResume(r.id, r.version);
      toast("Moved to trash", `“${r.title}” can be restored from the trash for 30 days.`);
      await load();
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        toast("Changed elsewhere", "This resume was just changed in another tab. Try again.", "destructive");
        await load();
      } else toast("Could not delete", errText(e), "destructive");
    }
  }

  async function restore(r: ResumeSummary) {
    try {
      await api.restoreResume(r.id);
      toast("Restored", `“${r.title}” is back.`);
      await load();
    } catch (e) {
      toast("Could not restore", errText(e), "destructive");
    }
  }

  async function onImport(file: File) {
    try {
      const text = await file.text();
      const title = importTitle(text, file.name);
      const { data } = await api.importResume(title, text);
      await load();
      if (data.warnings && data.warnings.length) setImported({ id: data.id, title: data.title, warnings: data.warnings });
      else {
        toast("Imported", `“${data.title}” is ready to edit.`);
      }
    } catch (e) {
      const msg = e instanceof ApiError ? `${e.message}${e.field ? ` (at ${e.field})` : ""}` : errText(e);
      toast("Import failed", msg, "destructive");
    } finally {
      if (fileRef.current) fileRef.current.value = "";
    }
  }

  return (
    <>
      <AppHeader />
      <main id="main" className="mx-auto max-w-6xl px-4 py-8">
        <div className="mb-6 flex flex-wrap items-end justify-between gap-4">
          <div>
            <h1 className="text-2xl font-semibold tracking-tight">Your resumes</h1>
            <p className="text-sm text-muted-foreground">Create one, or import a JSON Resume file of any version.</p>
          </div>
          <div className="flex flex-wrap gap-2">
            <input
              ref={fileRef}
              type="file"
              accept="application/json,.json"
              className="sr-only"
              id="import-file"
              aria-label="Import a JSON Resume file"
              onChange={(e) => e.target.files?.[0] && onImport(e.target.files[0])}
            />
            <Button variant="outline" onClick={() => fileRef.current?.click()}>
              <Upload aria-hidden="true" /> Import JSON
            </Button>
            <Button onClick={() => setCreateOpen(true)}>
              <FilePlus2 aria-hidden="true" /> New resume
            </Button>
          </div>
        </div>
        {error && (
          <Alert variant="destructive" className="mb-6">
            {error}{" "}
            <Button variant="link" className="h-auto p-0" onClick={() => load()}>
              Retry
            </Button>
          </Alert>
        )}
        <Tabs defaultValue="all">
          <TabsList aria-label="Which resumes">
            <TabsTrigger value="all">All{items ? ` (${items.length})` : ""}</TabsTrigger>
            <TabsTrigger value="trash">Trash{trash ? ` (${trash.length})` : ""}</TabsTrigger>
          </TabsList>
          <TabsContent value="all" className="mt-6">
            {items === null ? (
              <PageLoading label="Loading your resumes" />
            ) : items.length === 0 ? (
              <div className="rounded-xl border border-dashed bg-card p-10 text-center">
                <h2 className="text-lg font-medium">No resumes yet</h2>
                <p className="mt-1 text-sm text-muted-foreground">Start from an empty resume; the preview builds as you type.</p>
                <Button className="mt-4" onClick={() => setCreateOpen(true)}>
                  <FilePlus2 aria-hidden="true" /> Create your first resume
                </Button>
              </div>
            ) : (
              <ul className="grid grid-cols-2 gap-4 sm:grid-cols-3 lg:grid-cols-4" aria-label="Resumes">
                {items.map((r) => (
                  <li key={r.id} className="group relative flex flex-col overflow-hidden rounded-xl border bg-card shadow-sm transition-shadow hover:shadow-md" data-testid="resume-card">
                    <Link href={"/editor?id=" + encodeURIComponent(r.id)} className="outline-none focus-visible:ring-[3px] focus-visible:ring-ring/50 rounded-xl" aria-label={"Open " + r.title}>
                      <ResumeThumbnail id={r.id} version={r.version} title={r.title} />
                    </Link>
                    <div className="flex items-start gap-1 p-3">
                      <div className="min-w-0 flex-1">
                        <h2 className="truncate text-sm font-medium" title={r.title}>
                          {r.title}
                        </h2>
                        <p className="text-xs text-muted-foreground">Edited {formatDate(r.updated_at)}</p>
                      </div>
                      <DropdownMenu>
                        <DropdownMenuTrigger asChild>
                          <Button variant="ghost" size="icon" className="size-8" aria-label={"Actions for " + r.title}>
                            <MoreVertical aria-hidden="true" />
                          </Button>
                        </DropdownMenuTrigger>
                        <DropdownMenuContent align="end">
                          <DropdownMenuItem onSelect={() => setRename(r)}>
                            <Pencil aria-hidden="true" /> Rename
                          </DropdownMenuItem>
                          <DropdownMenuItem onSelect={() => duplicate(r)}>
                            <Copy aria-hidden="true" /> Duplicate
                          </DropdownMenuItem>
                          <DropdownMenuItem asChild>
                            <a href={api.exportUrl(r.id)} download>
                              <Download aria-hidden="true" /> Export JSON
                            </a>
                          </DropdownMenuItem>
                          <DropdownMenuSeparator />
                          <DropdownMenuItem variant="destructive" onSelect={() => remove(r)}>
                            <Trash2 aria-hidden="true" /> Move to trash
                          </DropdownMenuItem>
                        </DropdownMenuContent>
                      </DropdownMenu>
                    </div>
                  </li>
                ))}
              </ul>
            )}
          </TabsContent>
          <TabsContent value="trash" className="mt-6">
            {trash && trash.length === 0 ? (
              <p className="text-sm text-muted-foreground">The trash is empty. Deleted resumes stay here for 30 days.</p>
            ) : (
              <ul className="divide-y rounded-xl border bg-card" aria-label="Deleted resumes">
                {(trash || []).map((r) => (
                  <li key={r.id} className="flex items-center gap-3 p-3">
                    <div className="min-w-0 flex-1">
                      <div className="truncate text-sm font-medium">{r.title}</div>
                      <div className="text-xs text-muted-foreground">Deleted {formatDate(r.deleted_at)}</div>
                    </div>
                    <Button variant="outline" size="sm" onClick={() => restore(r)} aria-label={"Restore " + r.title}>
                      <RotateCcw aria-hidden="true" /> Restore
                    </Button>
                  </li>
                ))}
              </ul>
            )}
          </TabsContent>
        </Tabs>
      </main>

      <TitleDialog
        open={createOpen}
        onOpenChange={setCreateOpen}
        heading="New resume"
        description="Give it a name you will recognise, e.g. the job you apply for."
        submitLabel="Create"
        initial="My resume"
        onSubmit={create}
      />
      <TitleDialog
        open={!!rename}
        onOpenChange={(o) => !o && setRename(null)}
        heading="Rename resume"
        description="The name is for you; it does not appear on the PDF."
        submitLabel="Rename"
        initial={rename?.title || ""}
        onSubmit={async (title) => {
          if (!rename) return;
          await api.patchTitle(rename.id, rename.version, title);
          setRename(null);
          await load();
        }}
      />
      <Dialog open={!!imported} onOpenChange={(o) => !o && setImported(null)}>
        <DialogContent>
          <DialogHeader>
            <DialogTitle>Imported with {imported?.warnings.length} warning{imported?.warnings.length === 1 ? "" : "s"}</DialogTitle>
            <DialogDescription>“{imported?.title}” was imported. Some parts were adjusted to JSON Resume 1.0:</DialogDescription>
          </DialogHeader>
          <ul className="max-h-72 list-disc space-y-1 overflow-y-auto pl-5 text-sm" aria-label="Import warnings">
            {imported?.warnings.map((w, i) => (
              <li key={i}>
                <code className="rounded bg-muted px-1 text-xs">{w.pointer}</code> {w.message}
              </li>
            ))}
          </ul>
          <DialogFooter>
            <Button variant="outline" onClick={() => setImported(null)}>
              Close
            </Button>
            <Button onClick={() => imported && router.push("/editor?id=" + encodeURIComponent(imported.id))}>Open in editor</Button>
          </DialogFooter>
        </DialogContent>
      </Dialog>
    </>
  );
}

function TitleDialog(props: {
  open: boolean;
  onOpenChange: (o: boolean) => void;
  heading: string;
  description: string;
  submitLabel: string;
  initial: string;
  onSubmit: (title: string) => Promise<void>;
}) {
  const [title, setTitle] = React.useState(props.initial);
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  React.useEffect(() => {
    if (props.open) {
      setTitle(props.initial);
      setError(null);
    }
  }, [props.open, props.initial]);
  return (
    <Dialog open={props.open} onOpenChange={props.onOpenChange}>
      <DialogContent>
        <form
          className="grid gap-4"
          onSubmit={async (e) => {
            e.preventDefault();
            const t = title.trim();
            if (!t) return setError("Enter a name.");
            if (t.length > 200) return setError("Use at most 200 characters.");
            setBusy(true);
            try {
              await props.onSubmit(t);
            } catch (err) {
              setError(err instanceof ApiError && err.status === 412 ? "It was changed in another tab; reload and try again." : errText(err));
            } finally {
              setBusy(false);
            }
          }}
        >
          <DialogHeader>
            <DialogTitle>{props.heading}</DialogTitle>
            <DialogDescription>{props.description}</DialogDescription>
          </DialogHeader>
          <Field id="resume-title" label="Name" error={error}>
            {(p) => <Input {...p} autoFocus value={title} onChange={(e) => setTitle(e.target.value)} />}
          </Field>
          <DialogFooter>
            <Button type="button" variant="outline" onClick={() => props.onOpenChange(false)}>
              Cancel
            </Button>
            <Button type="submit" disabled={busy}>
              {busy ? "Working…" : props.submitLabel}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
