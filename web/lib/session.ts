"use client";
import { create } from "zustand";
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
      const { data } = await api.me();
      set({ user: data.user, status: "in" });
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
  },
}));

/** Where to go after signing in: only same-site paths are honoured. */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.includes("\\")) return "/dashboard";
  return next;
}
