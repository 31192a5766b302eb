/** The data layer: data sets, LIBSVM reading, SEED-000 synthetic data, splits and partitions. */
export { concat, labelCounts, makeDataset, row, subset, type Dataset } from './dataset.ts';
export {
  parseLibsvmSparse,
  parseLibsvmText,
  readLibsvm,
  readLibsvmSparse,
  readLibsvmText,
  toDataset,
  uniqueLabels,
  type LibsvmFile,
  type LibsvmOptions,
  type LibsvmResult,
} from './libsvm.ts';
export {
  SEED000_SYNTHETIC_DEFAULTS,
  seed000Synthetic,
  type Seed000SyntheticOptions,
  type SyntheticSplits,
} from './synthetic.ts';
export {
  minMaxScale,
  partition,
  standardScaling,
  standardize,
  trainValTestSplit,
  type FeatureScaling,
  type Partition,
  type SplitOptions,
  type TrainValTest,
} from './split.ts';
