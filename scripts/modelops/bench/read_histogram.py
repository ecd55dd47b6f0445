"""`python -m modelops.bench.read_histogram [--defaults] FILE...`: one plain read-plus-histogram pass.

The yardstick for `modelops check drift` from a cold start: the least a drift check must do is
start Python, read every column of both files and look at every value once. Here that is
pyarrow's `read_table` called as the command calls it (text read as dictionaries, without a
string per row; the file memory-mapped), then per column a 10-bin `np.histogram` of the finite
numbers or pyarrow's `value_counts` of the text. Only numpy and pyarrow are imported (pyarrow's
`read_table` loads pandas itself, to read a file's pandas metadata). With `--defaults`,
`read_table` runs with its defaults instead: the pass people would write first, and slower.
"""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def histograms(path: str, *, defaults: bool = False) -> int:
    """Read one file and histogram each column; the number of columns seen."""
    if defaults:
        table = pq.read_table(path)
    else:
        schema = pq.read_schema(path)
        text = [
            field.name
            for field in schema
            if pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
        ]
        table = pq.read_table(path, read_dictionary=text, memory_map=True)
    for column in table.columns:
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            values = column.to_numpy()
            np.histogram(values[np.isfinite(values)], bins=10)
        else:
            pc.value_counts(column)
    return table.num_columns


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    defaults = "--defaults" in arguments
    for path in (argument for argument in arguments if argument != "--defaults"):
        histograms(path, defaults=defaults)
    return 0


if __name__ == "__main__":
    sys.exit(main())
