/**
 * The one record every dataset loader produces, so that extraction, training and evaluation never
 * need to know which layout the images came from.
 */
export interface Sample {
  /** Absolute path of the image file. */
  imagePath: string;
  /** Absolute path of the defect mask (pixel value > 0 = defect), or null for normal images and
   * for anomalous images of a custom dataset that has no masks. */
  maskPath: string | null;
  /** 0 = normal, 1 = anomalous. */
  label: 0 | 1;
  category: string;
  /** "good" for normal images; the defect folder name (MVTec, custom) or "anomaly" (VisA's CSV has no type). */
  defectType: string;
  split: "train" | "test";
}

export interface Dataset {
  /** Layout name: "mvtec", "visa", "custom" or "meta". */
  name: string;
  /** Absolute root directory. */
  root: string;
  /** Categories present in `samples`, sorted. */
  categories: string[];
  /** Sorted by category, split, then image path, so that every run sees the same order. */
  samples: Sample[];
}

/** Options shared by every loader. */
export interface DatasetLoadOptions {
  /** Only these categories (each must exist; an unknown name is an error listing the known ones). */
  categories?: string[];
  /**
   * Read every image's and mask's header (sharp metadata) to fail early on unreadable files and on
   * masks whose size differs from their image. Default true; false skips it for speed.
   */
  check?: boolean;
}

export function sortSamples(samples: Sample[]): Sample[] {
  const splitOrder = { train: 0, test: 1 } as const;
  return samples.sort((a, b) => cmp(a.category, b.category) || splitOrder[a.split] - splitOrder[b.split] || cmp(a.imagePath, b.imagePath));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
