import copy

import pytest

from modelops.gates import check_integrity
from modelops.gates.integrity import artifact_shape_problems
from modelops.registry.manifest import manifest_digest

TREE = "sklearn.tree._tree.Tree"
# The MLmodel `modelops.registry.register_model` writes (MLflow 3.17), as safe YAML reads it; the
# end-to-end test in tests/registry/test_artifact_code.py holds a freshly registered one to the same rules.
REAL_MLMODEL = {
    "artifact_path": "file:///state/artifacts/modelops/credit-risk/models/m-1/artifacts",
    "flavors": {
        "python_function": {
            "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
            "loader_module": "mlflow.sklearn",
            "model_path": "model.skops",
            "predict_fn": "predict_proba",
            "python_version": "3.11.7",
        },
        "sklearn": {
            "code": None,
            "pickled_model": "model.skops",
            "serialization_format": "skops",
            "sklearn_version": "1.9.1",
            "skops_trusted_types": [TREE],
        },
    },
    "mlflow_version": "3.17.2",
    "signature": {"inputs": '[{"type": "double", "name": "age", "required": true}]'},
}
REAL_FILES = ["MLmodel", "conda.yaml", "model.skops", "python_env.yaml", "requirements.txt"]
MANIFEST = {path: f"{i:064x}" for i, path in enumerate(REAL_FILES)}
DIGEST = manifest_digest(MANIFEST)  # what the release pins
SIGNATURE = [("age", "double"), ("sex", "string")]
KINDS = {"age": "float", "sex": "string", "risk": "integer"}


def _mlmodel(pyfunc: dict | None = None, sklearn: dict | None = None, **flavors) -> dict:
    """The real MLmodel with flavor fields changed; a value of None removes the field."""
    spec = copy.deepcopy(REAL_MLMODEL)
    for name, changes in (("python_function", pyfunc or {}), ("sklearn", sklearn or {})):
        for key, value in changes.items():
            if value is None:
                spec["flavors"][name].pop(key, None)
            else:
                spec["flavors"][name][key] = value
    for name, value in flavors.items():
        if value is None:
            spec["flavors"].pop(name)
        else:
            spec["flavors"][name] = value
    return spec


def _check(**overrides):
    facts = {
        "registered_manifest": MANIFEST,
        "actual_manifest": dict(MANIFEST),
        "pinned_digest": DIGEST,
        "mlmodel": REAL_MLMODEL,
        "untrusted_types": [TREE],
        "trusted_types": [TREE],
        "signature": SIGNATURE,
        "data_kinds": KINDS,
        "label": "risk",
    }
    return check_integrity(**{**facts, **overrides})


def _problems(mlmodel=REAL_MLMODEL, files=REAL_FILES, trusted=(TREE,)):
    return artifact_shape_problems(mlmodel, files, trusted_types=list(trusted))


SUPPORTED = {
    "the real MLmodel": {},
    "no code field at all": {"mlmodel": _mlmodel(sklearn={"code": None})},
    "no env field": {"mlmodel": _mlmodel(pyfunc={"env": None})},
    "no declared trusted types": {"mlmodel": _mlmodel(sklearn={"skops_trusted_types": None})},
    "declared types within the policy": {"trusted": (TREE, "numpy.dtype")},
    "input examples and registry metadata": {
        "files": [*REAL_FILES, "input_example.json", "serving_input_example.json", "registered_model_meta"]
    },
    "no environment files": {"files": ["MLmodel", "model.skops"]},
}


@pytest.mark.parametrize("case", SUPPORTED.values(), ids=SUPPORTED.keys())
def test_the_supported_shape_passes(case):
    assert _problems(**case) == []


PYFUNC_MODEL = {  # what mlflow.pyfunc.log_model(python_model=...) writes: a cloudpickled class
    "loader_module": "mlflow.pyfunc.model",
    "python_model": "python_model.pkl",
    "cloudpickle_version": "3.1.1",
    "model_path": None,
    "predict_fn": None,
}
REFUSED = {
    "an extra pickle file": (
        {"files": [*REAL_FILES, "model.pkl"]},
        "artifact file model.pkl is not allowed",
    ),
    "a shared library": (
        {"files": [*REAL_FILES, "_speedups.so"]},
        "artifact file _speedups.so is not allowed",
    ),
    "a directory of code": (
        {"files": [*REAL_FILES, "code/evil.py", "code/helpers/__init__.py"]},
        "artifact file code/helpers/__init__.py is not allowed",
    ),
    "an environment file in a subfolder": (
        {"files": [*REAL_FILES, "code/requirements.txt"]},
        "artifact file code/requirements.txt is not allowed",
    ),
    "a python_model pyfunc": (
        {"mlmodel": _mlmodel(pyfunc=PYFUNC_MODEL), "files": [*REAL_FILES, "python_model.pkl"]},
        "MLmodel flavors.python_function.python_model is not a field the platform knows",
    ),
    "a cloudpickle version": (
        {"mlmodel": _mlmodel(pyfunc=PYFUNC_MODEL), "files": [*REAL_FILES, "python_model.pkl"]},
        "MLmodel flavors.python_function.cloudpickle_version is not a field the platform knows",
    ),
    "pyfunc artifacts": (
        {"mlmodel": _mlmodel(pyfunc={"artifacts": {"model": {"path": "artifacts/model.pkl"}}})},
        "MLmodel flavors.python_function.artifacts is not a field",
    ),
    "pyfunc data pointing elsewhere": (
        {"mlmodel": _mlmodel(pyfunc={"data": "model.pkl"})},
        "MLmodel flavors.python_function.data is not a field",
    ),
    "an unknown sklearn field": (
        {"mlmodel": _mlmodel(sklearn={"extra_files": ["x.py"]})},
        "MLmodel flavors.sklearn.extra_files is not a field",
    ),
    "another loader module": (
        {"mlmodel": _mlmodel(pyfunc={"loader_module": "evil"})},
        "MLmodel flavors.python_function.loader_module is evil; only mlflow.sklearn is allowed",
    ),
    "no loader module": (
        {"mlmodel": _mlmodel(pyfunc={"loader_module": None})},
        "MLmodel flavors.python_function.loader_module is None",
    ),
    "code paths in python_function": (
        {"mlmodel": _mlmodel(pyfunc={"code": "code"})},
        "MLmodel flavors.python_function.code is set to code",
    ),
    "code paths in sklearn": (
        {"mlmodel": _mlmodel(sklearn={"code": "code"})},
        "MLmodel flavors.sklearn.code is set to code",
    ),
    "cloudpickle serialization": (
        {"mlmodel": _mlmodel(sklearn={"serialization_format": "cloudpickle"})},
        "the model is serialized as cloudpickle (MLmodel flavors.sklearn.serialization_format)",
    ),
    "pickle serialization": (
        {"mlmodel": _mlmodel(sklearn={"serialization_format": "pickle"})},
        "the model is serialized as pickle",
    ),
    "no serialization format": (
        {"mlmodel": _mlmodel(sklearn={"serialization_format": None})},
        "the model is serialized as unknown",
    ),
    "declared types beyond the policy": (
        {"mlmodel": _mlmodel(sklearn={"skops_trusted_types": [TREE, "builtins.eval"]})},
        "MLmodel flavors.sklearn.skops_trusted_types declares types outside the policy's trusted list: "
        "builtins.eval",
    ),
    "declared types that are not names": (
        {"mlmodel": _mlmodel(sklearn={"skops_trusted_types": "builtins.eval"})},
        "skops_trusted_types is builtins.eval, not a list of type names",
    ),
    "model_path pointing at another file": (
        {"mlmodel": _mlmodel(pyfunc={"model_path": "model.pkl"}), "files": [*REAL_FILES, "model.pkl"]},
        "MLmodel flavors.python_function.model_path is model.pkl, not the sklearn flavor's model file "
        "model.skops",
    ),
    "no model_path": (
        {"mlmodel": _mlmodel(pyfunc={"model_path": None})},
        "MLmodel flavors.python_function.model_path is None",
    ),
    "a pickle model file": (
        {"mlmodel": _mlmodel(pyfunc={"model_path": "model.pkl"}, sklearn={"pickled_model": "model.pkl"})},
        "MLmodel flavors.sklearn.pickled_model is model.pkl; it must name a .skops file",
    ),
    "a model file outside the artifact": (
        {"mlmodel": _mlmodel(sklearn={"pickled_model": "../other/model.skops"})},
        "MLmodel flavors.sklearn.pickled_model is ../other/model.skops; it must name a .skops file",
    ),
    "a model file that is not there": (
        {"files": ["MLmodel", "conda.yaml"]},
        "MLmodel flavors.sklearn.pickled_model names model.skops, which is not in the artifact",
    ),
    "an unknown flavor": (
        {"mlmodel": _mlmodel(transformers={"pipeline_model_type": "x"})},
        "MLmodel flavors.transformers is not a supported flavor",
    ),
    "no python_function flavor": (
        {"mlmodel": _mlmodel(python_function=None)},
        "MLmodel flavors.python_function is missing",
    ),
    "no flavors": ({"mlmodel": {"signature": {}}}, "MLmodel has no flavors mapping"),
    "a predict_fn that is not a prediction": (
        {"mlmodel": _mlmodel(pyfunc={"predict_fn": "__reduce__"})},
        "MLmodel flavors.python_function.predict_fn is __reduce__; only predict_proba is served",
    ),
    # The endpoint would answer labels at the estimator's own cut, not the scores the gate judged.
    "labels served instead of scores": (
        {"mlmodel": _mlmodel(pyfunc={"predict_fn": "predict"})},
        "MLmodel flavors.python_function.predict_fn is predict; only predict_proba is served",
    ),
    "no predict_fn (MLflow then serves predict)": (
        {"mlmodel": _mlmodel(pyfunc={"predict_fn": None})},
        "MLmodel flavors.python_function.predict_fn is None; only predict_proba is served",
    ),
    "an environment file pointing elsewhere": (
        {"mlmodel": _mlmodel(pyfunc={"env": {"conda": "code/conda.yaml", "virtualenv": "python_env.yaml"}})},
        "MLmodel flavors.python_function.env.conda is code/conda.yaml",
    ),
}


@pytest.mark.parametrize(("case", "expected"), REFUSED.values(), ids=REFUSED.keys())
def test_anything_else_is_refused_and_named(case, expected):
    problems = _problems(**case)
    assert any(expected in problem for problem in problems), problems
    assert all("\n" not in problem for problem in problems)


def test_every_extra_file_is_named_once():
    problems = _problems(files=[*REAL_FILES, "code/evil.py", "lib.so"])
    assert [p.split(" is ")[0] for p in problems] == ["artifact file code/evil.py", "artifact file lib.so"]


def test_a_value_from_the_artifact_stays_one_short_line():
    (problem,) = _problems(mlmodel=_mlmodel(pyfunc={"loader_module": "evil\n" + "x" * 500}))
    assert "\n" not in problem and len(problem) < 250


def test_a_verified_artifact_passes():
    assert _check().passed


def test_a_changed_file_is_named():
    result = _check(actual_manifest={**MANIFEST, "model.skops": "c" * 64})
    assert not result.passed
    assert result.reasons[0].startswith("artifact file model.skops has sha256 cccccccccccc")


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        ({"MLmodel": MANIFEST["MLmodel"]}, "artifact file model.skops is missing"),
        ({**MANIFEST, "extra.pkl": "d" * 64}, "artifact file extra.pkl is not in the registered manifest"),
    ],
)
def test_missing_and_extra_files_are_named(actual, expected):
    assert expected in _check(actual_manifest=actual).reasons


def test_an_unverified_artifact_is_not_judged_on_its_contents():
    result = _check(actual_manifest={**MANIFEST, "model.skops": "c" * 64}, mlmodel=None, signature=None)
    assert len(result.reasons) == 1  # the mismatch alone: its MLmodel was never read


def test_files_matching_their_manifest_tag_but_not_the_pinned_digest_are_refused():
    """The pod checks the pinned digest alone: a manifest tag and a digest that name different files
    (a digest tag set by hand to another artifact's) would have it serve what no gate judged."""
    other = manifest_digest({**MANIFEST, "model.skops": "e" * 64})
    result = _check(pinned_digest=other)
    assert not result.passed
    assert result.reasons == (f"the registered manifest is not the one the pinned digest {other} names",)


def test_files_and_manifest_swapped_together_do_not_match_the_pin():
    """Both tags rewritten after registration to fit other files: the pin still names the judged ones."""
    swapped = {**MANIFEST, "model.skops": "e" * 64}
    result = _check(registered_manifest=swapped, actual_manifest=dict(swapped))
    assert not result.passed
    assert f"not the one the pinned digest {DIGEST} names" in result.reasons[0]


@pytest.mark.parametrize("pinned", ["", "sha256:abc", "md5:" + "0" * 32])
def test_a_missing_or_malformed_pin_fails_closed(pinned):
    result = _check(pinned_digest=pinned)
    assert not result.passed
    assert "pinned digest" in result.reasons[0]


def test_the_label_is_no_model_input():
    """A model whose signature names the policy's label is fed the evaluation set's answers."""
    result = _check(signature=[*SIGNATURE, ("risk", "long")])
    assert result.reasons == ("signature input risk is the policy's label: a model cannot take it as input",)


def test_no_registered_manifest_cannot_be_verified():
    assert "no sha256 manifest" in _check(registered_manifest=None).reasons[0]


@pytest.mark.parametrize("fmt", ["cloudpickle", "pickle", None])
def test_pickle_formats_are_refused(fmt):
    result = _check(mlmodel=_mlmodel(sklearn={"serialization_format": fmt}))
    assert not result.passed
    assert "only skops is loaded" in result.reasons[0]


def test_the_shape_is_judged_before_the_skops_file_and_the_signature():
    result = _check(mlmodel=_mlmodel(pyfunc={"code": "code"}), untrusted_types=None, signature=None)
    assert result.reasons == (
        "MLmodel flavors.python_function.code is set to code: code shipped with a model runs when MLflow "
        "loads it",
    )
    assert result.measured["loader_module"] == "mlflow.sklearn"


def test_an_unread_mlmodel_or_skops_file_fails_closed():
    assert "MLmodel was not read" in _check(mlmodel=None).reasons[0]
    assert "skops file's types were not read" in _check(untrusted_types=None).reasons[0]


def test_the_report_gets_text_whatever_the_yaml_held():
    import datetime

    result = _check(mlmodel=_mlmodel(sklearn={"serialization_format": datetime.date(2024, 1, 1)}))
    assert result.measured["serialization_format"] == "datetime.date(2024, 1, 1)"


def test_types_outside_the_trusted_list_are_refused():
    result = _check(untrusted_types=[TREE, "builtins.eval"])
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


def test_a_file_name_from_the_artifact_stays_one_line():
    (problem,) = _problems(files=[*REAL_FILES, "evil\nline.py"])
    assert problem.startswith("artifact file 'evil\\nline.py' is not allowed")
