import type { Metadata, Viewport } from "next";
import "./globals.css";
import { Toaster } from "@/components/ui/toaster";

export const metadata: Metadata = {
  title: { default: "ResumeGo", template: "%s · ResumeGo" },
  description: "Write your resume once, get a PDF that looks designed in any theme and language.",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1, themeColor: "#2d4bb3" };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen font-sans">
        <a href="#main" className="skip-link">
          Skip to content
        </a>
        {children}
        <Toaster />
      </body>
    </html>
  );
}
