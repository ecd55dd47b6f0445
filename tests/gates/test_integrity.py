import pytest

from modelops.gates import check_integrity

MANIFEST = {"MLmodel": "a" * 64, "model.skops": "b" * 64}
SIGNATURE = [("age", "double"), ("sex", "string")]
KINDS = {"age": "float", "sex": "string", "risk": "integer"}


def _check(**overrides):
    facts = {
        "registered_manifest": MANIFEST,
        "actual_manifest": dict(MANIFEST),
        "serialization_format": "skops",
        "untrusted_types": ["sklearn.tree._tree.Tree"],
        "trusted_types": ["sklearn.tree._tree.Tree"],
        "signature": SIGNATURE,
        "data_kinds": KINDS,
    }
    return check_integrity(**{**facts, **overrides})


def test_a_verified_artifact_passes():
    assert _check().passed


def test_a_changed_file_is_named():
    result = _check(actual_manifest={**MANIFEST, "model.skops": "c" * 64})
    assert not result.passed
    assert result.reasons[0].startswith("artifact file model.skops has sha256 cccccccccccc")


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        ({"MLmodel": "a" * 64}, "artifact file model.skops is missing"),
        ({**MANIFEST, "extra.pkl": "d" * 64}, "artifact file extra.pkl is not in the registered manifest"),
    ],
)
def test_missing_and_extra_files_are_named(actual, expected):
    assert expected in _check(actual_manifest=actual).reasons


def test_an_unverified_artifact_is_not_judged_on_its_contents():
    result = _check(
        actual_manifest={**MANIFEST, "model.skops": "c" * 64}, serialization_format=None, signature=None
    )
    assert len(result.reasons) == 1  # the mismatch alone: its MLmodel was never read


def test_no_registered_manifest_cannot_be_verified():
    assert "no sha256 manifest" in _check(registered_manifest=None).reasons[0]


@pytest.mark.parametrize("fmt", ["cloudpickle", "pickle", None])
def test_pickle_formats_are_refused(fmt):
    result = _check(serialization_format=fmt)
    assert not result.passed
    assert "only skops is loaded" in result.reasons[0]


def test_types_outside_the_trusted_list_are_refused():
    result = _check(untrusted_types=["sklearn.tree._tree.Tree", "builtins.eval"])
    assert result.reasons == ("the artifact needs types outside the policy's trusted list: builtins.eval",)


def test_signature_column_missing_from_data():
    result = _check(data_kinds={"sex": "string"})
    assert "signature input age (double) is missing from the evaluation data" in result.reasons


def test_signature_type_mismatch():
    result = _check(data_kinds={"age": "string", "sex": "string"})
    assert "signature input age expects double, the evaluation data holds string" in result.reasons


def test_integers_widen_to_double_but_not_the_reverse():
    assert _check(data_kinds={"age": "integer", "sex": "string"}).passed
    narrowing = _check(signature=[("age", "long")], data_kinds={"age": "float"})
    assert not narrowing.passed


def test_no_signature_is_refused():
    assert "no input signature" in _check(signature=None).reasons[0]
