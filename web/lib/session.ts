"use client";
import { create } from "zustand";
import { useToasts } from "@/components/ui/toaster";
import { api, ApiError, type User } from "./api";

type Status = "unknown" | "in" | "out";
type SessionState = {
  user: User | null;
  status: Status;
  load: () => Promise<void>;
  setUser: (u: User) => void;
  signOut: () => Promise<void>;
};

export const useSession = create<SessionState>((set, get) => ({
  user: null,
  status: "unknown",
  load: async () => {
    try {
      const { data } = await api.session();
      set(data.user ? { user: data.user, status: "in" } : { user: null, status: "out" });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) set({ user: null, status: "out" });
      else if (get().status === "unknown") set({ status: "out" });
    }
  },
  setUser: (u) => set({ user: u, status: "in" }),
  signOut: async () => {
    try {
      await api.logout();
    } catch {
      /* the cookie is cleared either way on the next 401 */
    }
    set({ user: null, status: "out" });
    // Nothing said to the signed-in person (e.g. "Version restored") follows them out.
    useToasts.getState().clear();
  },
}));

/** Where to go after signing in: only same-site paths are honoured. */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.includes("\\")) return "/dashboard";
  return next;
}
