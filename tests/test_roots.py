"""A SOURCE or ROOT that cannot be what it is given as is a clear error before anything runs:
a missing or mistyped landing zone is not "nothing new", a file is not a folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flows.cli import main
from schemas.errors import ConfigError
from storage import check_root, check_source_and_dest
from tests.corpus import write_corpus


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    write_corpus(tmp_path / "landing", 3)
    return tmp_path / "landing"


def test_a_missing_source_is_an_error_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "store"
    for command in (
        ["ingest", str(tmp_path / "landig"), "--dest", str(dest)],
        ["backfill", str(tmp_path / "landig"), "--dest", str(dest), "--start", "2024-01-01", "--end", "2024-01-02"],
    ):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert f"source {tmp_path / 'landig'} does not exist" in err and "create the folder" in err
    assert not dest.exists()


def test_a_file_as_source_or_dest_is_an_error(
    landing: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = next(p for p in landing.rglob("*") if p.is_file())
    assert main(["ingest", str(one), "--dest", str(tmp_path / "store")]) == 2
    assert "is a file: give the folder that holds the inputs" in capsys.readouterr().err
    taken = tmp_path / "store.parquet"
    taken.write_bytes(b"not a folder")
    assert main(["ingest", str(landing), "--dest", str(taken)]) == 2
    assert f"dest {taken} is a file, not a folder" in capsys.readouterr().err
    assert taken.read_bytes() == b"not a folder"
    assert main(["serve", "--source", str(one), "--dest", str(tmp_path / "store")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_compact_and_replay_need_a_root_that_exists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "stor"
    for command in (["compact", str(missing)], ["replay", str(missing)]):
        assert main(command) == 2
        assert f"ROOT {missing} does not exist" in capsys.readouterr().err
    assert not missing.exists()


def test_s3_roots_and_folders_pass(landing: Path, tmp_path: Path) -> None:
    check_root("s3://bucket/landing", "source", must_exist=True)  # an empty prefix is a landing zone
    check_root(str(landing), "source", must_exist=True)
    check_root(f"file://{landing}", "source", must_exist=True)
    check_root(str(tmp_path / "new-store"), "dest", must_exist=False)  # created by the run
    check_source_and_dest("s3://raw/wires/", "s3://raw/wires-lake/")  # a sibling prefix, not inside
    check_source_and_dest(str(landing), str(tmp_path / "landing-store"))
    with pytest.raises(ConfigError, match="does not exist"):
        check_root(f"file://{tmp_path / 'nope'}", "source", must_exist=True)


def test_a_dest_inside_the_source_is_refused(landing: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The dataset's own stories/ and quarantine/ would be the next run's inputs, quarantined
    and written again at every run."""
    for dest in (landing / "store", landing / "sub" / ".." / "store2", landing):
        assert main(["ingest", str(landing), "--dest", str(dest)]) == 2
        assert "inside source" in capsys.readouterr().err
        assert not (landing / "store").exists() and not (landing / "store2").exists()
    for source, dest in (
        ("s3://raw/wires", "s3://raw/wires/lake"),
        ("s3://raw", "s3://raw/lake"),
        ("s3://b/x", "s3://b/x/"),
    ):
        with pytest.raises(ConfigError, match="inside source"):
            check_source_and_dest(source, dest)


def test_a_malformed_uri_is_an_error_before_prefect_loads(landing: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(landing), "--dest", "s3://"]) == 2
    assert "an S3 URI needs a bucket" in capsys.readouterr().err
    assert main(["ingest", "ftp://host/landing", "--dest", "s3://lake/news"]) == 2
    assert "unsupported storage URI" in capsys.readouterr().err
    assert main(["compact", "gs://lake/news"]) == 2
    assert "unsupported storage URI" in capsys.readouterr().err


def test_a_deployment_run_over_a_missing_source_fails_with_the_reason(prefect_server: str, tmp_path: Path) -> None:
    from flows.ingest import ingest_flow

    with pytest.raises(ConfigError, match="does not exist"):
        ingest_flow(source=str(tmp_path / "unmounted"), dest=str(tmp_path / "store"))
    assert not (tmp_path / "store").exists()


def test_a_missing_bucket_or_a_dead_endpoint_is_an_error_before_prefect_loads(
    s3_endpoint: str, s3_bucket: str, landing: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt bucket once surfaced after Prefect's temporary server had started, as a
    failed flow run with its traceback; now one HEAD request answers it, for every command."""
    import boto3

    dest = tmp_path / "store"
    for command, role in (
        (["ingest", str(landing), "--dest", "s3://no-such-bucket/store"], "dest"),
        (["ingest", "s3://no-such-bucket/landing", "--dest", str(dest)], "source"),
        (["backfill", "s3://no-such-bucket/l", "--dest", str(dest), "--start", "2024-01-01", "--end", "2024-01-02"],
         "source"),
        (["serve", "--source", str(landing), "--dest", "s3://no-such-bucket/store"], "dest"),
        (["compact", "s3://no-such-bucket/store"], "ROOT"),
        (["replay", "s3://no-such-bucket/store"], "ROOT"),
    ):  # fmt: skip
        assert main(command) == 2, command
        err = capsys.readouterr().err
        assert f"{role} s3://no-such-bucket/" in err and "bucket 'no-such-bucket' does not exist" in err, err
        assert s3_endpoint in err and "Traceback" not in err
    assert not dest.exists()

    # The bucket that is there passes; a prefix with nothing under it is an empty landing zone.
    from storage import check_reachable

    check_reachable(f"s3://{s3_bucket}/nothing-yet", "source")
    assert boto3.client("s3").list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0


def test_an_endpoint_that_does_not_answer_is_an_error(
    tmp_path: Path, landing: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import free_port

    port = free_port()  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    assert main(["ingest", str(landing), "--dest", "s3://bucket/store"]) == 2
    err = capsys.readouterr().err
    assert f"the S3 endpoint http://127.0.0.1:{port} did not answer" in err and "AWS_ENDPOINT_URL" in err


def test_no_credentials_is_said_as_such(
    s3_endpoint: str, landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Once reported as an endpoint that did not answer ("check AWS_ENDPOINT_URL")."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata lookup
    assert main(["ingest", str(landing), "--dest", "s3://bucket/store"]) == 2
    err = capsys.readouterr().err
    assert "no usable S3 credentials" in err and "AWS_ACCESS_KEY_ID" in err and "did not answer" not in err, err


def test_the_check_s_client_is_the_flow_s_client_for_the_same_store(
    s3_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building a boto3 client took 130-280 ms here: the check before Prefect loads and the
    flow's store share one per store URI; another store, or another environment, gets its own."""
    from storage import check_reachable, open_storage
    from storage.s3 import _CLIENTS_KEPT, _clients

    uri = f"s3://{s3_bucket}/store"
    check_reachable(uri, "dest")
    store = open_storage(uri)
    assert store._client is open_storage(uri)._client  # type: ignore[attr-defined]
    other = open_storage(f"s3://{s3_bucket}/landing")
    assert other._client is not store._client  # type: ignore[attr-defined]
    monkeypatch.setenv("AWS_SESSION_TOKEN", "another-session")
    assert open_storage(uri)._client is not store._client  # type: ignore[attr-defined]
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    assert open_storage(uri)._client is store._client  # type: ignore[attr-defined]
    for n in range(_CLIENTS_KEPT + 3):
        open_storage(f"s3://{s3_bucket}/many-{n}")
    assert len(_clients) == _CLIENTS_KEPT
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    assert all(secret not in part for key in _clients for part in key)  # a digest, not the values


def test_s3_retry_and_timeout_settings_are_read_when_a_client_is_built(
    s3_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`WIRE_INGEST_S3_MAX_ATTEMPTS` and `WIRE_INGEST_S3_READ_TIMEOUT` set after `storage.s3`
    was imported reach the next client (they were read once at import, so bench/chaos.py's
    1 s read timeout was never used), and a client built under other values is not reused."""
    from storage import open_storage

    uri = f"s3://{s3_bucket}/settings"
    before = open_storage(uri)._client  # type: ignore[attr-defined]
    monkeypatch.setenv("WIRE_INGEST_S3_MAX_ATTEMPTS", "5")
    monkeypatch.setenv("WIRE_INGEST_S3_READ_TIMEOUT", "1.5")
    client = open_storage(uri)._client  # type: ignore[attr-defined]
    assert client is not before
    assert client.meta.config.retries["total_max_attempts"] == 6 and client.meta.config.read_timeout == 1.5
    assert before.meta.config.retries["total_max_attempts"] == 4  # tests/conftest.py: 3 retries
