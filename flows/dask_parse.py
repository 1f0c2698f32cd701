"""The parse stage on an existing Dask cluster (``--dask-address tcp://HOST:8786``).

Only the parse stage moves (parsing, validation, fingerprints): it is pure (bytes in, a
story or a quarantine reason out), so where it runs changes nothing else. Reading, the
duplicate decisions (in input order) and the commit stay in the run's process, which holds
the store's lease, so exactly-once and the output bytes are as with the local pool. A Dask
task runs ``parse_payload`` and ``prepare`` (what a local worker runs) over a chunk of
inputs; results are gathered in input order.

A worker that dies mid-batch (killed, out of memory, its machine gone) has its tasks
rescheduled by the Dask scheduler on the others. An input that kills every worker it is
given (``distributed.scheduler.allowed-failures``, 3 by default) is quarantined
``worker_crashed``, as on the local pool. The local pool's per-input deadline and memory
budget do not apply on Dask: bound workers with Dask's own ``--memory-limit`` (its nanny
restarts a worker past it). Workers need wire-ingest installed at the same version.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flows.workers import Quarantined, parse_payload, prepare
from schemas.errors import ConfigError
from schemas.story import Story

_CLIENTS: dict[str, Any] = {}
CONNECT_TIMEOUT = 10.0


def client_for(address: str) -> Any:
    """A Dask client connected to ``address`` (one per process and address)."""
    if address in _CLIENTS and _CLIENTS[address].status == "running":
        return _CLIENTS[address]
    try:
        from distributed import Client
    except ImportError as exc:  # the optional dependency
        raise ConfigError("--dask-address needs the dask extra: pip install 'wire-ingest[dask]' (distributed)") from exc
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"cannot reach the Dask scheduler at {address} ({exc}); start it (`dask scheduler`) or drop --dask-address"
        ) from exc
    _CLIENTS[address] = client
    return client


def close_clients() -> None:
    """Close the clients ``client_for`` opened. A client whose scheduler went away keeps
    trying to reconnect on its own thread until closed (a process that ends closes it)."""
    while _CLIENTS:
        _CLIENTS.popitem()[1].close()


#: Inputs per Dask task: one task per input costs ~4 ms of scheduling here, more than a parse.
CHUNK = 16


def parse_chunk(
    items: list[tuple[str, bytes]], default_agency: str | None, max_bytes: int, prepared: bool = False
) -> list[Any]:
    """What one Dask task runs: ``parse_payload`` over a few inputs; with ``prepared``, each
    story also validated and fingerprinted there (``prepare``), as a local worker does."""
    if prepared:
        return [prepare(parse_payload(uri, data, default_agency, max_bytes)) for uri, data in items]
    return [parse_payload(uri, data, default_agency, max_bytes) for uri, data in items]


def _parse_alone(client: Any, uri: str, data: bytes, options: dict[str, Any]) -> Any:
    from distributed.scheduler import KilledWorker

    try:
        result: list[Any] = client.submit(parse_chunk, [(uri, data)], **options, pure=False).result()
        return result[0]
    except KilledWorker:
        sha = hashlib.sha256(data).hexdigest()
        detail = "the Dask workers given this input died while parsing it, alone (distributed allowed-failures)"
        return Quarantined(uri, sha, len(data), "worker_crashed", detail)


class DaskParse:
    """Parse ``(uri, bytes)`` pairs on the cluster at ``address``: submitted at once (the
    cluster parses while the caller commits the batch ahead), ``result`` in input order
    (``Story`` or ``Quarantined``; with ``prepared``, ``Prepared`` or ``Quarantined``).

    Inputs go in chunks of CHUNK; a chunk whose workers all died is parsed again one input
    a task, and an input that fails so is parsed once more alone on the cluster, so only
    the input that kills workers is quarantined (``worker_crashed``)."""

    def __init__(
        self,
        payloads: list[tuple[str, bytes]],
        *,
        address: str,
        default_agency: str | None,
        max_bytes: int,
        prepared: bool = False,
    ) -> None:
        self.client, self.address = client_for(address), address
        self.options: dict[str, Any] = {"default_agency": default_agency, "max_bytes": max_bytes, "prepared": prepared}
        self.chunks = [payloads[i : i + CHUNK] for i in range(0, len(payloads), CHUNK)]
        self.futures = self._map(self.chunks)

    def _map(self, chunks: list[list[tuple[str, bytes]]]) -> list[Any]:
        if not chunks:
            return []
        return list(self.client.map(parse_chunk, chunks, **self.options, pure=False))

    def result(self) -> list[Any]:
        if not self.chunks:
            return []
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        results: list[Any] = []
        try:
            for chunk, future in zip(self.chunks, self.futures, strict=True):
                try:
                    results += future.result()
                    continue
                except KilledWorker:
                    pass
                except FutureCancelledError as exc:
                    raise ConfigError(
                        f"the Dask cluster at {self.address} cancelled the batch's parse tasks: {exc}"
                    ) from exc
                singles = self._map([[item] for item in chunk])
                for (uri, data), single in zip(chunk, singles, strict=True):
                    try:
                        results += single.result()
                    except KilledWorker:
                        # It may only have queued behind the culprit on a dying worker: alone
                        # on the cluster, only the input that kills workers fails again.
                        results.append(_parse_alone(self.client, uri, data, self.options))
        finally:
            self.cancel()
        return results

    def cancel(self) -> None:
        if self.futures:
            self.client.cancel(self.futures)


def parse_on_dask(
    payloads: list[tuple[str, bytes]], *, address: str, default_agency: str | None, max_bytes: int
) -> list[Story | Quarantined]:
    """``DaskParse`` submitted and waited for."""
    results: list[Story | Quarantined] = DaskParse(
        payloads, address=address, default_agency=default_agency, max_bytes=max_bytes
    ).result()
    return results
