"""Batch work over many files, in this process or on a Dask cluster, from one laptop
(``open_client(workers=N)``: a ``LocalCluster``) to many machines (``open_client(scheduler=
"tcp://HOST:8786")``), with the same code; resumable and fault-tolerant.

* :func:`detect_files` -- ``maskdet detect`` over photos, folders, list files and fsspec URLs,
  one JSON line per file in a results file (and a Parquet table, with pyarrow);
  :func:`iter_detections` gives the same records one at a time;
* :func:`evaluate_model` -- ``maskdet evaluate --end-to-end`` with the photos processed on
  the cluster.

The files are split into chunks (a task each); each worker loads the model once (a worker
plugin), reads the files' bytes itself and sends back small JSON records, written in the
order of the files as they come. A file that fails is recorded with its reason; ``resume``
skips the files already written; a chunk whose worker died is retried on another worker.
``dask.distributed`` (``pip install "maskdet[dask]"``) is needed only to run on Dask.

Modules: ``inputs`` (the files named), ``results`` (the results file), ``tasks`` (what a
worker does with a chunk), ``cluster`` (the Dask side), ``engine`` (chunks, order, resume),
``detect`` and ``evaluate``.
"""

from .detect import detect_files, iter_detections
from .engine import BatchSummary, default_chunk_size, open_client
from .evaluate import evaluate_model
from .inputs import expand_inputs, read_list_file
from .results import ResultsWriter, read_results, write_parquet
from .tasks import DetectorSpec

__all__ = [
    "BatchSummary",
    "DetectorSpec",
    "ResultsWriter",
    "default_chunk_size",
    "detect_files",
    "evaluate_model",
    "expand_inputs",
    "iter_detections",
    "open_client",
    "read_list_file",
    "read_results",
    "write_parquet",
]
