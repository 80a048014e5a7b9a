"""Reports: the numbers of a dataset analysis and visual reports of datasets and models.

* :mod:`~maskdet.reports.analysis` -- :func:`analyze_dataset`: what to look at in a dataset
  before training (class balance, sizes, formats, detection rates, duplicates); numbers only;
* :mod:`~maskdet.reports.html` -- the builder every report uses: figures on matplotlib's Agg
  canvas, one self-contained HTML page, the numbers as JSON;
* :mod:`~maskdet.reports.dataset` -- :func:`write_dataset_report` of an analysis;
* :mod:`~maskdet.reports.model` -- :func:`write_model_report` and
  :func:`write_classifier_report`: a classifier on labelled face crops.
"""

from .analysis import DatasetAnalysis, FileRecord, analyze_dataset
from .dataset import DATASET_FIGURES, write_dataset_report
from .model import MAX_MISCLASSIFIED, MODEL_FIGURES, write_classifier_report, write_model_report

__all__ = [
    "DATASET_FIGURES",
    "MAX_MISCLASSIFIED",
    "MODEL_FIGURES",
    "DatasetAnalysis",
    "FileRecord",
    "analyze_dataset",
    "write_classifier_report",
    "write_dataset_report",
    "write_model_report",
]
