"""Train HOG+SVM with two kernels on the same split and compare them.

    python examples/train_and_compare.py path/to/mask-faces
"""

from __future__ import annotations

import sys

import maskdet


def main(data: str) -> None:
    for kernel in ("rbf", "linear"):
        result = maskdet.train([data], backend="hog-svm", params={"kernel": kernel}, seed=0)
        m = result.test_metrics
        print(f"{kernel:>6}: accuracy {m['accuracy']:.4f}, balanced {m['balanced_accuracy']:.4f}"
              f", fit {result.info['fit_seconds']:.1f} s, {m['ms_per_face']:.2f} ms/face")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
