"use client";
import * as React from "react";
import QRCode from "qrcode";
import { AppHeader, PageLoading, useRequireAuth } from "@/components/app-shell";
import { Field } from "@/components/field";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { toast } from "@/components/ui/toaster";
import { api, ApiError } from "@/lib/api";
import { useSession } from "@/lib/session";
import { formatDate } from "@/lib/utils";

export default function AccountPage() {
  const ready = useRequireAuth();
  const { user, load } = useSession();
  if (!ready || !user) return <PageLoading />;
  return (
    <>
      <AppHeader />
      <main id="main" className="mx-auto grid max-w-3xl gap-6 px-4 py-8">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Account</h1>
          <p className="text-sm text-muted-foreground">
            {user.email}
            {user.created_at ? ` · member since ${formatDate(user.created_at)}` : ""}
          </p>
        </div>
        <PasswordCard />
        <TotpCard enabled={!!user.totp_enabled} onChange={() => load()} />
      </main>
    </>
  );
}

function PasswordCard() {
  const [current, setCurrent] = React.useState("");
  const [next, setNext] = React.useState("");
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const [busy, setBusy] = React.useState(false);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Password</CardTitle>
        <CardDescription>Changing it signs out every other device.</CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="grid gap-4 sm:max-w-sm"
          noValidate
          onSubmit={async (e) => {
            e.preventDefault();
            const v: Record<string, string> = {};
            if (!current) v.current = "Enter your current password.";
            if (new TextEncoder().encode(next).length < 8) v.next = "Use at least 8 characters.";
            setErrors(v);
            if (Object.keys(v).length) return;
            setBusy(true);
            try {
              await api.changePassword(current, next);
              setCurrent("");
              setNext("");
              toast("Password changed", "Other devices were signed out.");
            } catch (err) {
              if (err instanceof ApiError && (err.code === "wrong_password" || err.code === "invalid_credentials")) setErrors({ current: "That is not your current password." });
              else if (err instanceof ApiError && err.code === "weak_password") setErrors({ next: err.message });
              else if (err instanceof ApiError && err.status === 429) setErrors({ current: `Too many attempts; try again in ${err.retryAfter ?? 60} s.` });
              else setErrors({ current: (err as Error).message });
            } finally {
              setBusy(false);
            }
          }}
        >
          <Field id="current-password" label="Current password" error={errors.current}>
            {(p) => <Input {...p} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />}
          </Field>
          <Field id="new-password" label="New password" error={errors.next} hint="At least 8 characters.">
            {(p) => <Input {...p} type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} />}
          </Field>
          <Button type="submit" disabled={busy} className="w-fit">
            {busy ? "Saving…" : "Change password"}
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}

function TotpCard({ enabled, onChange }: { enabled: boolean; onChange: () => void }) {
  const [setup, setSetup] = React.useState<{ secret: string; otpauth_url: string; qr: string } | null>(null);
  const [code, setCode] = React.useState("");
  const [password, setPassword] = React.useState("");
  const [codes, setCodes] = React.useState<string[] | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);

  async function start() {
    setError(null);
    setBusy(true);
    try {
      const { data } = await api.totpSetup();
      const qr = await QRCode.toDataURL(data.otpauth_url, { margin: 1, width: 200 });
      setSetup({ ...data, qr });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card>
      <CardHeader>
        <CardTitle className="flex items-center gap-2">
          Two-factor authentication {enabled ? <Badge>On</Badge> : <Badge variant="secondary">Off</Badge>}
        </CardTitle>
        <CardDescription>A 6-digit code from an authenticator app is asked for at each sign-in.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {error && <Alert variant="destructive">{error}</Alert>}
        {codes && (
          <Alert>
            <div className="font-medium">Recovery codes — save them now; they are shown only once.</div>
            <ul className="mt-2 grid grid-cols-2 gap-1 font-mono text-sm" aria-label="Recovery codes">
              {codes.map((c) => (
                <li key={c}>{c}</li>
              ))}
            </ul>
            <div className="mt-2 flex gap-2">
              <Button size="sm" variant="outline" onClick={() => navigator.clipboard?.writeText(codes.join("\n")).then(() => toast("Copied", "The recovery codes are on your clipboard."))}>
                Copy codes
              </Button>
              <Button size="sm" variant="ghost" onClick={() => setCodes(null)}>
                I saved them
              </Button>
            </div>
          </Alert>
        )}
        {!enabled && !setup && (
          <Button onClick={start} disabled={busy} className="w-fit">
            Set up two-factor authentication
          </Button>
        )}
        {!enabled && setup && (
          <form
            className="grid gap-4 sm:grid-cols-[200px_1fr]"
            onSubmit={async (e) => {
              e.preventDefault();
              setBusy(true);
              setError(null);
              try {
                const { data } = await api.totpEnable(code.replace(/\s+/g, ""));
                setCodes(data.recovery_codes);
                setSetup(null);
                setCode("");
                onChange();
              } catch (err) {
                setError(err instanceof ApiError && err.code === "invalid_totp" ? "That code did not match. Check the time on your phone and try the next code." : (err as Error).message);
              } finally {
                setBusy(false);
              }
            }}
          >
            {/* eslint-disable-next-line @next/next/no-img-element */}
            <img src={setup.qr} alt="QR code to scan with your authenticator app" width={200} height={200} className="rounded-md border bg-white" />
            <div className="grid content-start gap-3">
              <p className="text-sm">Scan the code with your authenticator app, or type this key:</p>
              <code className="rounded bg-muted px-2 py-1 font-mono text-sm break-all" data-testid="totp-secret">
                {setup.secret}
              </code>
              <Field id="totp-code" label="Code from the app">
                {(p) => <Input {...p} inputMode="numeric" autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} className="max-w-40" />}
              </Field>
              <div className="flex gap-2">
                <Button type="submit" disabled={busy || code.length < 6}>
                  Turn on
                </Button>
                <Button type="button" variant="ghost" onClick={() => setSetup(null)}>
                  Cancel
                </Button>
              </div>
            </div>
          </form>
        )}
        {enabled && (
          <form
            className="grid gap-3 sm:max-w-sm"
            onSubmit={async (e) => {
              e.preventDefault();
              setBusy(true);
              setError(null);
              try {
                await api.totpDisable(password);
                setPassword("");
                toast("Two-factor authentication is off");
                onChange();
              } catch (err) {
                setError(err instanceof ApiError && (err.code === "wrong_password" || err.code === "invalid_credentials") ? "That is not your password." : (err as Error).message);
              } finally {
                setBusy(false);
              }
            }}
          >
            <Field id="totp-disable-password" label="Password, to turn it off">
              {(p) => <Input {...p} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
            </Field>
            <Button type="submit" variant="outline" disabled={busy || !password} className="w-fit">
              Turn off
            </Button>
          </form>
        )}
      </CardContent>
    </Card>
  );
}
