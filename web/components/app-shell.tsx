"use client";
import * as React from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { Logo } from "@/components/logo";
import { Button } from "@/components/ui/button";
import { useIdleModule } from "@/lib/lazy";
import { useSession } from "@/lib/session";

/** Loads the session; sends a signed-out visitor to the sign-in page and back here after. */
export function useRequireAuth() {
  const router = useRouter();
  const { status, load } = useSession();
  React.useEffect(() => {
    if (status === "unknown") void load();
  }, [status, load]);
  React.useEffect(() => {
    if (status === "out") {
      const next = window.location.pathname + window.location.search;
      router.replace("/login?next=" + encodeURIComponent(next));
    }
  }, [status, router]);
  return status === "in";
}

/** The account menu: its button at once, the menu itself (Radix) after the first paint. */
export function UserMenu() {
  const { user } = useSession();
  const { mod, now } = useIdleModule(() => import("@/components/user-menu"));
  const [asked, setAsked] = React.useState(false);
  if (!user) return null;
  if (mod) return <mod.default defaultOpen={asked} />;
  const initial = (user.name || user.email || "?").trim().charAt(0).toUpperCase();
  return (
    <Button
      variant="ghost"
      size="icon"
      aria-label={"Account menu for " + (user.name || user.email)}
      aria-haspopup="menu"
      aria-expanded={false}
      className="rounded-full"
      onClick={() => {
        setAsked(true);
        now();
      }}
    >
      <span aria-hidden="true" className="grid size-8 place-items-center rounded-full bg-accent font-semibold text-accent-foreground">
        {initial}
      </span>
    </Button>
  );
}

export function AppHeader({ children }: { children?: React.ReactNode }) {
  return (
    <header className="sticky top-0 z-40 border-b bg-card/95 backdrop-blur">
      <div className="mx-auto flex h-14 max-w-6xl items-center gap-3 px-4">
        <Logo href="/dashboard" />
        <nav aria-label="Main" className="ml-4 hidden sm:block">
          <Link href="/dashboard" className="rounded-md px-2 py-1 text-sm text-muted-foreground hover:text-foreground focus-visible:ring-[3px] focus-visible:ring-ring/50 outline-none">
            Resumes
          </Link>
        </nav>
        <div className="ml-auto flex items-center gap-2">
          {children}
          <UserMenu />
        </div>
      </div>
    </header>
  );
}

export function PageLoading({ label = "Loading" }: { label?: string }) {
  return (
    <div role="status" aria-live="polite" className="grid min-h-[50vh] place-items-center text-sm text-muted-foreground">
      <div className="flex items-center gap-3">
        <span aria-hidden="true" className="size-4 animate-spin rounded-full border-2 border-primary border-t-transparent" />
        {label}…
      </div>
    </div>
  );
}
