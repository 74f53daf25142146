"use client";
import * as React from "react";
import { useRouter } from "next/navigation";
import { LogOut, UserRound, LayoutGrid } from "lucide-react";
import { Button } from "@/components/ui/button";
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuLabel, DropdownMenuSeparator, DropdownMenuTrigger } from "@/components/ui/dropdown-menu";
import { useSession } from "@/lib/session";

// The account menu (Radix DropdownMenu), loaded after the first paint by UserMenu in
// components/app-shell.tsx; `defaultOpen` when it was clicked before this had loaded.
export default function UserMenuFull({ defaultOpen = false }: { defaultOpen?: boolean }) {
  const { user, signOut } = useSession();
  const router = useRouter();
  if (!user) return null;
  const initial = (user.name || user.email || "?").trim().charAt(0).toUpperCase();
  return (
    <DropdownMenu defaultOpen={defaultOpen}>
      <DropdownMenuTrigger asChild>
        <Button variant="ghost" size="icon" aria-label={"Account menu for " + (user.name || user.email)} className="rounded-full">
          <span aria-hidden="true" className="grid size-8 place-items-center rounded-full bg-accent font-semibold text-accent-foreground">
            {initial}
          </span>
        </Button>
      </DropdownMenuTrigger>
      <DropdownMenuContent align="end">
        <DropdownMenuLabel>
          <div className="truncate">{user.name || "Your account"}</div>
          <div className="truncate text-xs font-normal text-muted-foreground">{user.email}</div>
        </DropdownMenuLabel>
        <DropdownMenuSeparator />
        <DropdownMenuItem onSelect={() => router.push("/dashboard")}>
          <LayoutGrid aria-hidden="true" /> Resumes
        </DropdownMenuItem>
        <DropdownMenuItem onSelect={() => router.push("/account")}>
          <UserRound aria-hidden="true" /> Account
        </DropdownMenuItem>
        <DropdownMenuSeparator />
        <DropdownMenuItem
          onSelect={async () => {
            await signOut();
            router.replace("/login");
          }}
        >
          <LogOut aria-hidden="true" /> Sign out
        </DropdownMenuItem>
      </DropdownMenuContent>
    </DropdownMenu>
  );
}

