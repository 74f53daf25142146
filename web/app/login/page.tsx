"use client";
import * as React from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { AuthCard } from "@/components/auth-card";
import { Field } from "@/components/field";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Alert } from "@/components/ui/alert";
import { api, ApiError } from "@/lib/api";
import { safeNext, useSession } from "@/lib/session";

export default function LoginPage() {
  const router = useRouter();
  const setUser = useSession((s) => s.setUser);
  const [email, setEmail] = React.useState("");
  const [password, setPassword] = React.useState("");
  const [totp, setTotp] = React.useState("");
  const [needTotp, setNeedTotp] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const totpRef = React.useRef<HTMLInputElement>(null);

  React.useEffect(() => {
    if (needTotp) totpRef.current?.focus();
  }, [needTotp]);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { data } = await api.login(email.trim(), password, needTotp ? totp.replace(/\s+/g, "") : undefined);
      setUser(data.user);
      router.replace(safeNext(new URLSearchParams(window.location.search).get("next")));
    } catch (err) {
      if (err instanceof ApiError && err.code === "totp_required") {
        setNeedTotp(true);
      } else if (err instanceof ApiError && err.code === "invalid_totp") {
        setError("That code did not work. Use the current code from your app, or a recovery code.");
      } else if (err instanceof ApiError && err.code === "invalid_credentials") {
        setError("The e-mail or password is wrong.");
      } else if (err instanceof ApiError && err.status === 429) {
        setError(`Too many attempts. Try again in ${err.retryAfter ?? 60} seconds.`);
      } else {
        setError((err as Error).message);
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthCard
      title={needTotp ? "Two-factor check" : "Sign in"}
      description={needTotp ? "Enter the 6-digit code from your authenticator app, or a recovery code." : "Welcome back. Sign in to edit your resumes."}
      footer={
        <>
          New here?{" "}
          <Link className="font-medium text-primary underline-offset-4 hover:underline" href="/signup">
            Create an account
          </Link>
        </>
      }
    >
      <form onSubmit={submit} className="grid gap-4" noValidate>
        {error && <Alert variant="destructive">{error}</Alert>}
        {!needTotp ? (
          <>
            <Field id="email" label="E-mail">
              {(p) => <Input {...p} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />}
            </Field>
            <Field id="password" label="Password">
              {(p) => <Input {...p} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />}
            </Field>
          </>
        ) : (
          <Field id="totp" label="Authentication code">
            {(p) => (
              <Input
                {...p}
                ref={totpRef}
                inputMode="text"
                autoComplete="one-time-code"
                required
                value={totp}
                onChange={(e) => setTotp(e.target.value)}
                placeholder="123456"
              />
            )}
          </Field>
        )}
        <Button type="submit" disabled={busy || !email || !password || (needTotp && !totp)}>
          {busy ? "Signing in…" : needTotp ? "Verify" : "Sign in"}
        </Button>
        {needTotp && (
          <Button type="button" variant="ghost" onClick={() => { setNeedTotp(false); setTotp(""); setError(null); }}>
            Back
          </Button>
        )}
      </form>
    </AuthCard>
  );
}
