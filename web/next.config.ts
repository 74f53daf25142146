import type { NextConfig } from "next";

// Static export: the C services are the only servers; Caddy serves `out/`.
// Routes with an id take it as a query parameter (/editor?id=...), not a dynamic segment.
const config: NextConfig = {
  output: "export",
  trailingSlash: false,
  images: { unoptimized: true },
  reactStrictMode: true,
  poweredByHeader: false,
  productionBrowserSourceMaps: false,
};

export default config;
