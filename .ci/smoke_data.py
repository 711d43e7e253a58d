"""Write 30 vectors in three clusters to the parquet file named on the command line."""

import sys

import pyarrow.parquet as pq

from sample_data.fixtures import vectors_table

pq.write_table(vectors_table(n_per=10, dim=8, centers=3), sys.argv[1])
