"""Orchestration: the batch pipeline, the ledger, the Prefect flows and the CLI.

Only ``flows.ingest`` (and modules it names) import Prefect; the CLI loads it lazily so
``wire-ingest parse`` starts fast.
"""
