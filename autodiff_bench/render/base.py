"""The renderer interface: one result in, every format out (hyperfine's exporters).

A command's renderer wraps its report and supplies the table, the Markdown, the records and
the configuration; the CSV rows and the JSON document are built here, once, for every
command.  Renderers never compute what the engine could give them."""

from __future__ import annotations

import io
from typing import Any, ClassVar

from rich.console import Console

from autodiff_bench.model import make_document
from autodiff_bench.render.common import make_console, records_csv


class Renderer:
    """Base of every command's renderer."""

    #: The ``command`` field of the JSON document.
    command: ClassVar[str] = ""

    def table(self, console: Console) -> None:
        """Draw the human table (with its details and verdict) on ``console``."""
        raise NotImplementedError

    def markdown(self) -> str:
        """The table as GitHub Markdown."""
        raise NotImplementedError

    def records(self) -> list[Any]:
        """The rows of the CSV and the ``results`` of the JSON document."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """The resolved selection, for the document's ``config``."""
        return {}

    def extra(self) -> dict[str, Any]:
        """Top-level document fields besides the standard ones."""
        return {}

    def threads(self) -> int | None:
        """The thread count the run asked for (recorded in the environment)."""
        return None

    def device_environment(self) -> dict[str, Any]:
        """Where the run computed (device, GPU name, precision flags), for the environment."""
        return {}

    def summary(self) -> str | None:
        """The one line a person wants (stderr, when the output goes to a file)."""
        return None

    def csv(self) -> str:
        """Every record, one CSV row each."""
        return records_csv(self.records())

    def document(self) -> dict[str, Any]:
        """The versioned JSON document of this result."""
        return make_document(
            self.command,
            self.config(),
            self.records(),
            threads=self.threads(),
            device_environment=self.device_environment(),
            **self.extra(),
        )

    def render(self, fmt: str) -> str:
        """The result as text in ``fmt`` (``table`` as plain text, for a file)."""
        from autodiff_bench.model import dumps

        if fmt == "table":
            buf = io.StringIO()
            self.table(make_console(buf))
            return buf.getvalue()
        if fmt == "json":
            return dumps(self.document())
        if fmt == "csv":
            return self.csv()
        return self.markdown()


__all__ = ["Renderer"]
