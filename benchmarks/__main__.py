"""``python -m benchmarks [--quick] [--out BENCHMARKS.md]``: see :mod:`benchmarks.report`."""

from benchmarks.report import main

raise SystemExit(main())
