import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tests start real peers (docker-registry, containerd) and use the disk: run files in
    // separate forks so a peer's ports, mounts and temp dirs belong to one file.
    pool: 'forks',
    reporters: ['default'],
  },
});
