// Stops every emulator the global setup started and removes their containers (global-setup.ts).
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __runwayEmulators?: () => Promise<void> }).__runwayEmulators?.();
}
