"""Renderers: result records in, text out (tables, Markdown, CSV, JSON).  They never compute
results; every format comes from the same records."""

from autodiff_bench.render.common import FORMATS, make_console, records_csv

__all__ = ["FORMATS", "make_console", "records_csv"]
