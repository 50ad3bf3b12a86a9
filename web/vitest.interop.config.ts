// Cross-implementation tests (C++ <-> JS) that need a built C++ program: ctest relay_e2e_interop.
import { defineConfig } from 'vitest/config';
export default defineConfig({
  test: { include: ['tests/interop/**/*.test.ts'], environment: 'node' },
});
