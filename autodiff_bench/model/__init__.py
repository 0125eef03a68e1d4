"""The result model: records, cell keys and the label rule (``records``), and the run
documents they travel in (``document``)."""

from autodiff_bench.model.document import (
    SCHEMA_VERSION,
    check_output_path,
    dumps,
    environment,
    load_document,
    make_document,
    replace_atomically,
    strict,
    write_atomic,
)
from autodiff_bench.model.records import (
    FAILING,
    RECORD_TYPES,
    STATUSES,
    Cell,
    CellKey,
    CheckRecord,
    Record,
    TimeRecord,
    TrainRecord,
    backend_label,
    key_of,
    worst_status,
)

__all__ = [
    "FAILING",
    "RECORD_TYPES",
    "SCHEMA_VERSION",
    "STATUSES",
    "Cell",
    "CellKey",
    "CheckRecord",
    "Record",
    "TimeRecord",
    "TrainRecord",
    "backend_label",
    "check_output_path",
    "dumps",
    "environment",
    "key_of",
    "load_document",
    "make_document",
    "replace_atomically",
    "strict",
    "worst_status",
    "write_atomic",
]
