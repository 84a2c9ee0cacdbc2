/**
 * Temporary folders for tests, removed when the test module's isolate ends
 * (`unload`), so test runs leave nothing behind in the system temp folder.
 *
 * @module
 */
const dirs: string[] = [];
let registered = false;

/** Creates a temp folder that is deleted (recursively) at unload. */
export async function tempDir(prefix = "merba_test_"): Promise<string> {
  const d = await Deno.makeTempDir({ prefix });
  dirs.push(d);
  if (!registered) {
    registered = true;
    addEventListener("unload", () => {
      for (const x of dirs) {
        try {
          Deno.removeSync(x, { recursive: true });
        } catch { /* already gone */ }
      }
    });
  }
  return d;
}
