"use client";
import * as React from "react";
import Link from "next/link";
import { FileText, Globe2, Zap } from "lucide-react";
import { Logo } from "@/components/logo";
import { Button } from "@/components/ui/button";
import { useSession } from "@/lib/session";

export default function Home() {
  const { status, load } = useSession();
  React.useEffect(() => {
    if (status === "unknown") void load();
  }, [status, load]);
  const signedIn = status === "in";
  return (
    <div className="min-h-screen bg-gradient-to-b from-accent/70 via-background to-background">
      <header className="mx-auto flex h-16 max-w-6xl items-center px-4">
        <Logo />
        <nav aria-label="Account" className="ml-auto flex gap-2">
          {signedIn ? (
            <Button asChild>
              <Link href="/dashboard">Your resumes</Link>
            </Button>
          ) : (
            <>
              <Button variant="ghost" asChild>
                <Link href="/login">Sign in</Link>
              </Button>
              <Button asChild>
                <Link href="/signup">Sign up</Link>
              </Button>
            </>
          )}
        </nav>
      </header>
      <main id="main" className="mx-auto max-w-6xl px-4 pt-16 pb-24">
        <h1 className="max-w-3xl text-4xl font-bold tracking-tight sm:text-5xl">Write your resume once. Get a PDF that looks designed.</h1>
        <p className="mt-5 max-w-2xl text-lg text-muted-foreground">
          ResumeGo keeps your resume as structured data and typesets it in any theme, on A4 or Letter, in any script — Chinese, Arabic and all the others — with a live preview as you type.
        </p>
        <div className="mt-8 flex flex-wrap gap-3">
          <Button size="lg" asChild>
            <Link href={signedIn ? "/dashboard" : "/signup"}>{signedIn ? "Open your resumes" : "Create a free account"}</Link>
          </Button>
          {!signedIn && (
            <Button size="lg" variant="outline" asChild>
              <Link href="/login">I have an account</Link>
            </Button>
          )}
        </div>
        <ul className="mt-16 grid gap-6 sm:grid-cols-3">
          {[
            { icon: Zap, title: "Live preview", text: "The PDF is rebuilt in milliseconds after each edit and swapped in when ready." },
            { icon: Globe2, title: "Every script", text: "Right-to-left pages for Arabic and Hebrew, CJK glyphs that follow your language." },
            { icon: FileText, title: "JSON Resume", text: "Import any version, export the standard format, share a read-only link." },
          ].map(({ icon: Icon, title, text }) => (
            <li key={title} className="rounded-xl border bg-card p-5 shadow-sm">
              <Icon aria-hidden="true" className="size-5 text-primary" />
              <h2 className="mt-3 font-semibold">{title}</h2>
              <p className="mt-1 text-sm text-muted-foreground">{text}</p>
            </li>
          ))}
        </ul>
      </main>
    </div>
  );
}
