import Link from "next/link";

export default function NotFound() {
  return (
    <main id="main" className="grid min-h-screen place-items-center px-4 text-center">
      <div>
        <h1 className="text-2xl font-semibold">Page not found</h1>
        <p className="mt-2 text-muted-foreground">The address may be mistyped, or the page was moved.</p>
        <Link href="/" className="mt-4 inline-block font-medium text-primary underline-offset-4 hover:underline">
          Go to the start page
        </Link>
      </div>
    </main>
  );
}
