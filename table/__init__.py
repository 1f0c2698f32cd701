"""The table layer: how stories become an exactly-once, hive-partitioned Parquet dataset.

- ``ledger``: which inputs are done and the near-duplicate index built from them;
- ``snapshot``: the ledger's batch objects folded into sorted key hashes and Parquet entries;
- ``dataset``: the Parquet files of the stories dataset (partitions, keys, encoding);
- ``compaction``: a partition's small files merged, under its own commit protocol.

It imports storage, schemas and the fingerprint functions of parsers, never Prefect or
``flows`` (``tests/test_layering.py``). ``flows.batch`` runs a batch's commit protocol on
top of it; ``flows.ingest`` and ``flows.cli`` are the Prefect wiring and the command line.
"""
