import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelops.payloads.store import Store, StoreLocation, store_location
from modelops_infra.backends.aws_storage import payload_bucket_name


def test_a_local_folder_or_file_uri_is_a_local_store():
    assert store_location("/var/payloads/", env={}) == StoreLocation("local", "/var/payloads")
    assert store_location("file:///var/payloads", env={}) == StoreLocation("local", "/var/payloads")


def test_s3_is_the_bucket_and_prefix_with_minio_named_by_the_standard_endpoint_variable():
    bucket = payload_bucket_name("dev")  # what the sink writes to on AWS
    assert store_location(f"s3://{bucket}/payloads", env={"AWS_REGION": "eu-west-1"}) == (
        StoreLocation("s3", f"{bucket}/payloads", region="eu-west-1")
    )
    minio = {"AWS_ENDPOINT_URL_S3": "http://minio.object-storage.svc.cluster.local:9000"}
    assert store_location("s3://bucket/payloads", env=minio) == StoreLocation(
        "s3", "bucket/payloads", "http", "minio.object-storage.svc.cluster.local:9000"
    )
    assert store_location("s3://bucket", env={"AWS_ENDPOINT_URL": "https://s3.local"}).endpoint == "s3.local"


@pytest.mark.parametrize(
    ("uri", "env", "message"),
    [
        ("relative/folder", {}, "not an absolute folder"),
        ("file://host/folder", {}, "names no host"),
        ("gs://bucket/prefix", {}, "only a local folder or s3"),
        ("s3:///prefix", {}, "not s3://bucket/prefix"),
        ("s3://bucket/a/../b", {}, "relative segment"),
        ("s3://bucket/a//b", {}, "empty or relative segment"),
        ("s3://bucket/p", {"AWS_ENDPOINT_URL_S3": "minio:9000"}, "not http"),
    ],
)
def test_a_store_uri_the_sink_cannot_use_is_refused_naming_it(uri, env, message):
    with pytest.raises(ValueError, match=message):
        store_location(uri, env=env)


def test_a_local_write_lands_whole_under_its_folder_and_leaves_no_temporary_file(tmp_path):
    store = Store(store_location(str(tmp_path / "store"), env={}))
    table = pa.table({"x": [1, 2, 3]})
    path = store.write(table, folder="model=m/release=stable/date=2026-12-07/hour=05")
    assert pq.read_table(path).equals(table)
    files = [p.name for p in (tmp_path / "store").rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].startswith("part-") and files[0].endswith(".parquet")


def test_a_write_that_fails_half_way_leaves_no_file_behind(tmp_path):
    store = Store(store_location(str(tmp_path), env={}))
    unwritable = pa.table({"s": pa.array([{}], type=pa.struct([]))})  # parquet has no empty struct
    with pytest.raises(pa.ArrowException):
        store.write(unwritable, folder="f")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
