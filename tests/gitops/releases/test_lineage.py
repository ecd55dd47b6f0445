"""Which release a rollback restores: the lineage of stable releases, rollbacks popping it."""

from __future__ import annotations

from modelops.gitops.releases.transitions import Release, stable_lineage


def release(version: str) -> Release:
    return Release(version, f"s3://bucket/models/m-{version}/artifacts", f"sha256:{version * 8}")


V1, V2, V3 = release("1"), release("2"), release("3")


def test_promotions_stack_up():
    assert stable_lineage([V1, V2, V3]) == [V1, V2, V3]


def test_a_rollback_pops_so_the_next_one_goes_further_back():
    assert stable_lineage([V1, V2, V3, V2]) == [V1, V2]
    assert stable_lineage([V1, V2, V3, V2, V1]) == [V1]


def test_a_second_rollback_after_returning_to_the_first_release_has_nowhere_to_go():
    # Before: v1 -> v2 -> (rollback) v1, and a second rollback rolled *forward* to v2.
    assert stable_lineage([V1, V2, V1]) == [V1]


def test_unchanged_releases_between_commits_count_once():
    assert stable_lineage([V1, V1, V2, V2, V2]) == [V1, V2]


def test_the_same_version_with_another_artifact_is_another_release():
    forged = Release("2", "s3://bucket/models/m-x/artifacts", "sha256:" + "f" * 8)
    assert stable_lineage([V1, V2, forged]) == [V1, V2, forged]
