/**
 * Shared types of the model library: the plain configuration object from
 * which MERba and MambaVision models are assembled, and the model interface
 * the rest of the project (the DSL interpreter, the CLIs) programs against.
 *
 * Tensors are NHWC inside the library (TensorFlow.js' native layout); the
 * forward CLI and safetensors I/O convert to and from PyTorch's NCHW.
 *
 * @module
 */
import type * as tf from "./tensor_types.ts";

/** The four base scan orders of the paper's asymmetric multi-scanning. */
export type BaseScan =
  /** horizontal raster: row by row, each row left to right */
  | "h"
  /** vertical raster: column by column, each column top to bottom */
  | "v"
  /** horizontal zigzag (boustrophedon): row 0 left→right, row 1 right→left, … */
  | "hz"
  /** vertical zigzag: column 0 top→bottom, column 1 bottom→top, … */
  | "vz";

/**
 * A scan order name: a base order, optionally followed by `-r` (reversed:
 * the bi-directional counterpart) and/or `-m` (mirrored left↔right: the
 * horizontally symmetric counterpart, starting top-right). `-rm` is both.
 */
export type ScanName = `${BaseScan}${"" | "-r" | "-m" | "-rm"}`;

/** The model families: MERba and its MambaVision baseline. */
export const MODEL_FAMILIES = ["merba", "mambavision"] as const;
/** Where a MERba extractor or attention works: inside windows or over the whole map. */
export const EXTENTS = ["local", "global"] as const;
/** The classification heads: one linear head, or the dual-granularity module. */
export const HEAD_KINDS = ["linear", "dgcm"] as const;
/** The initialisations of the mixer's `dt_proj` (see {@link MixerConfig.dtInit}). */
export const DT_INITS = ["reference", "mamba"] as const;

/** Settings of the MambaVision mixer (selective-scan token mixer). */
export interface MixerConfig {
  /** SSM state size N (reference: 8). */
  dState: number;
  /** depthwise conv1d kernel size (reference: 3). */
  dConv: number;
  /** channel expansion (reference: 1). */
  expand: number;
  /**
   * The reference adds dt_proj's bias twice (once in the linear, once as
   * `delta_bias` of the scan). `true` keeps that behaviour for parity.
   */
  dtBiasTwice: boolean;
  /**
   * Initialisation of `dt_proj`: `reference` (default) is what the reference
   * code ends up with (its global trunc_normal init overwrites Mamba's dt
   * init: weight trunc_normal(0.02), bias 0); `mamba` keeps Mamba's
   * (weight U(±dt_rank^-0.5), bias inverse-softplus of dt ∈ [0.001, 0.1]).
   */
  dtInit?: typeof DT_INITS[number];
}

/** A plain, JSON-serialisable model configuration. */
export interface ModelConfig {
  /** `merba`: FFE + LGFI stages; `mambavision`: the MambaVision baseline. */
  family: typeof MODEL_FAMILIES[number];
  /** input height and width (square when a number). */
  inputSize: number | [number, number];
  /** input channels (MERba: 2 for u,v flow; 3 with optical strain). */
  inChannels: number;
  /** hidden width of the patch embedding's first conv (reference: 64). */
  stemDim: number;
  /** channel width of each of the 4 stages (MambaVision-B: 128/256/512/1024). */
  dims: number[];
  /**
   * Blocks per stage. Conv stages: conv blocks. MambaVision stages: mixer
   * blocks followed by attention blocks as the reference places them.
   * MERba LGFI stages: local extractor blocks.
   */
  depths: number[];
  /** MERba only: global self-attention blocks after the local extractors of each stage. */
  attentionDepths: number[];
  /** attention heads per stage. */
  heads: number[];
  /** window size: one for all stages or one per stage. */
  windowSize: number | number[];
  /** number of leading convolutional stages (MambaVision-B: 2; MERba: 1). */
  convStages: number;
  /** MLP hidden ratio (4). */
  mlpRatio: number;
  /** MERba: scan orders summed by the local extractor. */
  scans: ScanName[];
  /** MERba: extractor inside windows (`local`) or over the whole map (`global`). */
  extractor: typeof EXTENTS[number];
  /** MERba: self-attention over the whole map (`global`) or inside windows (`local`). */
  attention: typeof EXTENTS[number];
  /** classification head: one linear head, or the dual-granularity module. */
  head: typeof HEAD_KINDS[number];
  /** classes of the linear head (DGCM: always 4 coarse + 4 fine). */
  numClasses: number;
  /** dropout before the head. */
  dropout: number;
  /** stochastic depth rate, linearly increasing to this value over blocks. */
  dropPath: number;
  /** layer scale init for mixer/attention blocks (`null`: none). */
  layerScale: number | null;
  /** mixer settings. */
  mixer: MixerConfig;
}

/**
 * Overrides of a {@link ModelConfig}: any fields, the mixer's too, merged
 * deeply (`mixer: { dState: 16 }` changes only the state size; a list
 * replaces the list it overrides as a whole).
 */
export type ModelOverrides =
  & Partial<Omit<ModelConfig, "mixer">>
  & { mixer?: Partial<MixerConfig> };

/** Options of one forward pass. */
export interface ForwardOptions {
  /** training mode: dropout and drop path active, BatchNorm batch statistics (and running-stat updates). */
  training: boolean;
  /**
   * Seed of this pass's random stream (dropout, drop path). Required when
   * `training` is true so that every pass is reproducible.
   */
  seed?: number;
  /** also return per-stage feature maps (NHWC). */
  features?: boolean;
  /**
   * Gradient checkpointing of the token blocks (mixer, extractor and
   * attention blocks): their intermediates are not kept for the backward
   * pass but recomputed in it, trading ≈ one extra block forward for most of
   * the activation memory. Same values and gradients as without.
   */
  checkpoint?: boolean;
}

/** What a forward pass returns. */
export interface ModelOutput {
  /** linear head: class logits [B, numClasses]. */
  logits?: tf.Tensor2D;
  /** DGCM: coarse logits [B, 4] over negative/positive/surprise/others. */
  coarse?: tf.Tensor2D;
  /** DGCM: fine logits [B, 4] over anger/disgust/fear/sadness. */
  fine?: tf.Tensor2D;
  /** per-stage outputs, when requested. */
  features?: tf.Tensor4D[];
}

/** An assembled model: a named parameter tree plus a forward function. */
export interface MerModel {
  /** the configuration it was built from. */
  readonly config: ModelConfig;
  /** trainable parameters keyed by PyTorch-style state-dict names. */
  readonly params: Map<string, tf.Variable>;
  /** non-trainable state (BatchNorm running_mean/running_var/num_batches_tracked). */
  readonly buffers: Map<string, tf.Variable>;
  /** forward pass on an NHWC batch. */
  apply(x: tf.Tensor4D, options: ForwardOptions): ModelOutput;
  /** number of trainable scalars. */
  numParams(): number;
  /** release every variable. */
  dispose(): void;
}
