/**
 * simclip's public API: what notebooks, the README and docs use, and the main types. Notebooks and
 * users import from "simclip"; internals (kernels, file formats, layer-by-layer pieces) are imported
 * from their modules by the CLI and tests, not re-exported here.
 */
export * from "./errors.js";
export { tf, tfReady } from "./tf.js";
// The errors a caller may catch, each concern's own
export { CorruptEntryError } from "./cache/index.js";
export { ClipWeightsError } from "./clip/weights.js";
export { HubDownloadError } from "./clip/hub.js";
export { ExecutionProviderUnavailableError } from "./clip/index.js";
export { UnsafePickleError } from "./clip/torch-pickle.js";
export { EmptyCategoryError } from "./data/index.js";
export { MetricInputError, MetricUndefinedError } from "./metrics/index.js";
export { MissingMaskError } from "./models/common/train-data.js";
export { NonFiniteLossError } from "./models/common/train-loop.js";

// Data
export { loadDataset, sampleFewShot, type Dataset, type DatasetLoadOptions, type Sample } from "./data/index.js";

// The frozen CLIP backbone
export {
  ClipModel,
  loadMask,
  preprocessSquare,
  type ClipActivation,
  type ClipConfig,
  type ClipModelLoadOptions,
  type TextOutput,
  type VisionOutput,
} from "./clip/index.js";

// Metrics
export {
  aupro,
  averagePrecision,
  f1Max,
  formatMetricTable,
  imageAuroc,
  pixelAuroc,
  pro,
  type EvaluationTable,
  type MetricName,
} from "./metrics/index.js";

// Feature cache
export { FeatureCache, type FeatureSourceInfo, type ImageFeatures } from "./cache/index.js";

// Methods: the registry, the framework's types, and each method's class
export {
  METHODS,
  createMethod,
  methodDescriptor,
  methodNames,
  methodOptionSchema,
  runRegisteredMethod,
  describeMethodOptions,
  resolvedMethodOptions,
  validateMethodOptions,
  type MethodContext,
  type MethodDescriptor,
  type MethodFactory,
  type MethodOptionSchema,
  type MethodOptionValue,
  type MethodOptions,
  type RunRegisteredMethodOptions,
  type RunRegisteredMethodResult,
  type AnomalyMethod,
  type FeatureBatch,
  type MethodOutput,
  type MethodState,
  type TrainableObjective,
  type SimClipBackbone,
  evaluateMethod,
  type EvaluationResults,
  openMethodFeatures,
  samplesTrainSource,
  trainLoop,
  type TrainHistory,
  type TrainOptions,
  loadCheckpoint,
  saveCheckpoint,
  CheckpointMismatchError,
  type LoadedCheckpoint,
  predictImages,
  type Prediction,
  type PredictOptions,
  PromptFeatureStore,
  gaussianFilter,
  upsampleBilinear,
  SimClip,
  loadSimClip,
  saveSimClip,
  exportSimClipOnnx,
  resolveSimClipConfig,
  type SimClipConfig,
  SimClipPlus,
  resolveSimClipPlusConfig,
  type SimClipPlusConfig,
  ClipAc,
  AprilGan,
  PatchCore,
  PromptLearnerClip,
} from "./models/index.js";
export { writePrediction, renderPrediction, predictionNames, type RenderedPrediction } from "./viz/prediction.js";

// The paper's tables and figures, the demo, and what they run on
export {
  table1,
  table3,
  table4,
  table5,
  table6,
  type Table1Options,
  table2,
  type Table2Result,
  figure5,
  type Figure5Options,
  type Figure5Data,
  heatmapFigure,
  anomalousTestSamples,
  anomalyMaps,
  type HeatmapFigureOptions,
  type HeatmapFigureData,
  runDemo,
  type DemoOptions,
  type DemoResult,
  FIGURE_JOBS,
  type FigureJob,
  ExperimentContext,
  withExperiment,
  CROSS_DATASET_DIRECTIONS,
  type CrossDatasetDirection,
  type TrainedMethod,
  loadExperimentSetup,
  experimentSetupFrom,
  experimentLabel,
  type ExperimentSetup,
  loadExperimentConfig,
  describeExperimentConfig,
  setupLabel,
  type ExperimentConfig,
  openBackbone,
  openDataset,
  experimentRow,
  experimentTable,
  formatExperimentTable,
  type ResultRow,
  type ExperimentTable,
  PAPER_TABLES,
  type PaperRow,
  type PaperTable,
  type PaperTableId,
  backboneSummary,
  layerDistanceRows,
  maxLayerDistance,
  statePromptSimilarity,
} from "./experiments/index.js";

// Notebook display (tslab)
export {
  setupNotebook,
  inTslab,
  NotInNotebookError,
  showHtml,
  showMarkdown,
  showPng,
  showPlotly,
  type PlotlyFigure,
  showExperiment,
  experimentHtml,
  comparisonTable,
  recordsHtml,
  type ComparisonOptions,
  figureTitle,
  heatmapGridFigure,
  rocFigure,
  prFigure,
  lossFigure,
  scatterFigure,
} from "./notebook/index.js";

// Static figures and map files
export {
  rocCurve,
  prCurve,
  type RocCurve,
  type PrCurve,
  type ScatterPoint,
  tsne2d,
  type TsneOptions,
  heatmapGridPng,
  writeHeatmapGridFile,
  writeChartFiles,
  type HeatmapRow,
  type HeatmapGridOptions,
  colorize,
  jetColor,
  readNpy,
  encodeNpy,
  type NpyArray,
} from "./viz/index.js";
