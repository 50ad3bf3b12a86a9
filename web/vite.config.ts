import { defineConfig } from 'vite';
// Built into dist/ (CMake copies or points callbridged at it); dev server proxies the API.
// TSX is compiled by Vite's own transformer with Preact's automatic JSX runtime (no plugin).
export default defineConfig({
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: process.env.CALLBRIDGE_WEB_OUT ?? 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022' },
  server: { proxy: { '/api': { target: process.env.CALLBRIDGE_URL ?? 'http://127.0.0.1:8080', ws: true } } },
});
