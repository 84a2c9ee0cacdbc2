import { strict as assert } from "node:assert";
import { SpecError } from "./errors.ts";
import { loadExperiment, loadRawSpec } from "./load.ts";

const dir = new URL("./testdata/yaml/", import.meta.url).pathname;

Deno.test("YAML extends: lists replaced, objects merged, relative to the file", async () => {
  const spec = await loadExperiment(`${dir}child.yaml`);
  assert.equal(spec.name, "yaml-child");
  assert.deepEqual(
    spec.model.scans,
    ["h"],
    "the child's list replaces the base's",
  );
  assert.deepEqual(
    spec.train.optimizer,
    { lr: 0.05, weightDecay: 0.01 },
    "objects merge",
  );
  assert.equal(spec.train.epochs, 2);
  assert.deepEqual(spec.dataset.options, { perClass: 3, subjects: 6 });
  assert.deepEqual(Object.keys(spec.variants), ["one", "two"]);
});

Deno.test("a TS spec can extend a YAML spec (chain of two)", async () => {
  const raw = await loadRawSpec(`${dir}grandchild.ts`);
  assert.equal(raw.extends, undefined);
  const spec = await loadExperiment(`${dir}grandchild.ts`);
  assert.equal(spec.name, "ts-grandchild");
  assert.deepEqual(spec.protocol, {
    kind: "kfold",
    k: 3,
    groupBy: "subject",
    breakdownBy: "source",
  });
  assert.deepEqual(spec.dataset.options, { perClass: 2, subjects: 6 });
  assert.deepEqual(spec.model.scans, ["h"]);
});

Deno.test("extends cycles, missing bases, YAML syntax errors and bad formats name the file", async () => {
  await assert.rejects(loadRawSpec(`${dir}cycle_a.yaml`), (e: unknown) => {
    assert.ok(e instanceof SpecError);
    assert.match(
      e.message,
      /cycle_b\.yaml: extends: cycle: .*cycle_a\.yaml → .*cycle_b\.yaml → .*cycle_a\.yaml/,
    );
    return true;
  });
  await assert.rejects(
    loadRawSpec(`${dir}bad_syntax.yaml`),
    /bad_syntax\.yaml: line \d+, column \d+: /,
  );
  await assert.rejects(
    loadRawSpec(`${dir}nope.yaml`),
    /nope\.yaml: cannot read/,
  );
  await assert.rejects(
    loadRawSpec(`${dir}base.json`),
    /base\.json: unknown spec format/,
  );
  const tmp = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(tmp, "extends: ./does_not_exist.yaml\nname: x\n");
  await assert.rejects(
    loadRawSpec(tmp),
    new RegExp(`${tmp}: extends: cannot read .*does_not_exist\\.yaml`),
  );
  await Deno.writeTextFile(tmp, "- 1\n- 2\n");
  await assert.rejects(
    loadRawSpec(tmp),
    /expected the spec to be an object, got a list/,
  );
  await Deno.remove(tmp);
});

Deno.test("validation errors of a loaded spec name the spec file", async () => {
  const tmp = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(
    tmp,
    `extends: ${dir}base.yaml\nname: x\ntrain: { batchSize: 0 }\n`,
  );
  await assert.rejects(
    loadExperiment(tmp),
    new RegExp(`^SpecError: ${tmp}: train.batchSize: expected an integer ≥ 1$`),
  );
  await Deno.remove(tmp);
});

Deno.test("a TS spec that throws or cannot import is one line naming the file, without ANSI codes", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${tmp}/throws.ts`, 'throw new Error("boom");\n');
    await assert.rejects(loadRawSpec(`${tmp}/throws.ts`), (e: unknown) => {
      assert.ok(e instanceof SpecError);
      assert.equal(
        e.message,
        `${tmp}/throws.ts: the spec failed while loading: Error: boom`,
      );
      return true;
    });
    await Deno.writeTextFile(
      `${tmp}/imports.ts`,
      'import { x } from "./nope.ts";\nexport default x;\n',
    );
    await assert.rejects(loadRawSpec(`${tmp}/imports.ts`), (e: unknown) => {
      assert.ok(e instanceof SpecError);
      assert.ok(!e.message.includes("\x1b") && !e.message.includes("\n"));
      assert.match(
        e.message,
        new RegExp(
          `^${tmp}/imports\\.ts: the spec failed while loading: .*Module not found .*nope\\.ts.* \\(at ${tmp}/imports\\.ts:1:\\d+\\)$`,
        ),
      );
      return true;
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a YAML spec that extends a TS spec gets a one-line notice that it runs code", async () => {
  const notices: string[] = [];
  const tmp = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${tmp}/child.yaml`,
      `extends: ${dir}grandchild.ts\nname: from-yaml\n`,
    );
    const raw = await loadRawSpec(`${tmp}/child.yaml`, {
      onNotice: (m) => notices.push(m),
    });
    assert.equal(raw.name, "from-yaml");
    assert.deepEqual(notices, [
      `note: ${tmp}/child.yaml extends ${dir}grandchild.ts, a TypeScript spec: it runs as code, with this process's permissions`,
    ]);
    // a YAML-only chain, or a TS spec itself, gets none
    notices.length = 0;
    await loadRawSpec(`${dir}child.yaml`, { onNotice: (m) => notices.push(m) });
    await loadRawSpec(`${dir}grandchild.ts`, {
      onNotice: (m) => notices.push(m),
    });
    assert.deepEqual(notices, []);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
