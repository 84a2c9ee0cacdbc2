/**
 * Label tables: the MEGC2019 composite (3DB) mapping from each source's
 * emotion annotation to the three classes, and label normalisation.
 *
 * | source  | negative                                        | positive  | surprise | excluded (not in 3DB)        |
 * |---------|-------------------------------------------------|-----------|----------|------------------------------|
 * | casme2  | disgust, repression                             | happiness | surprise | fear, sadness, others        |
 * | samm    | anger, contempt, disgust, fear, sadness         | happiness | surprise | other                        |
 * | smic    | negative                                        | positive  | surprise | —                            |
 *
 * This follows the MEGC2019 composite protocol (See et al., 2019). The
 * official composite list (442 samples: SMIC-HS 164, CASME II 145, SAMM 133)
 * was curated by the organisers, so the `megc2019` adapter takes its sample
 * list and labels from the composite CSV when one is given and uses this
 * table only without one (or to check rows that give a source emotion). An
 * emotion that is not in a source's table is an error, never a silent skip;
 * an emotion mapped to `null` is excluded by the protocol.
 *
 * @module
 */
import { type CLASSES_3, EMOTIONS_7 } from "../types.ts";

/** A MEGC2019 composite class. */
export type Class3 = typeof CLASSES_3[number];

/** Sources of the MEGC2019 composite. */
export type CompositeSource = "casme2" | "samm" | "smic";

/** Source emotion (lower case) → composite class, or `null` = excluded. */
export const MEGC2019_CLASS_MAP: Readonly<
  Record<CompositeSource, Readonly<Record<string, Class3 | null>>>
> = {
  casme2: {
    disgust: "negative",
    repression: "negative",
    happiness: "positive",
    surprise: "surprise",
    fear: null,
    sadness: null,
    others: null,
  },
  samm: {
    anger: "negative",
    contempt: "negative",
    disgust: "negative",
    fear: "negative",
    sadness: "negative",
    happiness: "positive",
    surprise: "surprise",
    other: null,
  },
  smic: { negative: "negative", positive: "positive", surprise: "surprise" },
};

/** Lower-cases and trims a label cell (`" Happiness "` → `happiness`). */
export function normaliseLabel(s: string): string {
  return s.trim().toLowerCase();
}

/**
 * Maps a source emotion to its composite class (`null`: excluded by the
 * protocol). Unknown emotions throw, naming `context` (file and row).
 */
export function toClass3(
  source: CompositeSource,
  emotion: string,
  context: string,
): Class3 | null {
  const table = MEGC2019_CLASS_MAP[source];
  const e = normaliseLabel(emotion);
  if (!(e in table)) {
    throw new Error(
      `${context}: unknown ${source} emotion "${emotion}" (known: ${
        Object.keys(table).join(", ")
      })`,
    );
  }
  return table[e];
}

/** Checks a 7-class label (case-insensitive); throws naming `context`. */
export function toEmotion7(label: string, context: string): string {
  const l = normaliseLabel(label);
  if (!(EMOTIONS_7 as readonly string[]).includes(l)) {
    throw new Error(
      `${context}: unknown label "${label}" (known: ${EMOTIONS_7.join(", ")})`,
    );
  }
  return l;
}
