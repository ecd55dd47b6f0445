"""Schema and integrity gate: the artifact is the one registered, carries no code, and fits the data.

Inputs are plain facts gathered at the edge (digests, the MLmodel as safe YAML read it, the types
skops would have to trust, the signature and the data's columns); this module only decides.

The supported artifact is the one `modelops.registry.register_model` writes: a scikit-learn model
in a skops file, served through MLflow's `python_function` flavor by `mlflow.sklearn`. Everything
else MLflow can load (a `code/` folder, a loader module, a pickled `python_model`, `artifacts`,
`data` pointing elsewhere) makes MLflow import or unpickle something from the artifact, so the
shape is an allow-list, and anything this module does not know is refused.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from modelops.gates.result import GateResult
from modelops.serving.contract import SERVED_METHOD

if TYPE_CHECKING:
    import numpy as np
    from pandas.api.extensions import ExtensionDtype

SAFE_FORMAT = "skops"
LOADER_MODULE = "mlflow.sklearn"
PYFUNC, SKLEARN = "python_function", "sklearn"
# What MLflow 3's `mlflow.sklearn.log_model` writes for a skops model. `code` is known so that
# its null value passes; any value is refused by its own rule.
PYFUNC_KEYS = frozenset({"loader_module", "model_path", "predict_fn", "python_version", "env", "code"})
SKLEARN_KEYS = frozenset(
    {"pickled_model", "serialization_format", "sklearn_version", "skops_trusted_types", "code"}
)
ENV_FILES = {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
# Files next to the model file: environment specs, input examples, and the metadata MLflow adds
# when a version is downloaded through `models:/`. None is imported or unpickled by MLflow.
SUPPORT_FILES = frozenset(
    {
        "MLmodel",
        "requirements.txt",
        *ENV_FILES.values(),
        "input_example.json",
        "serving_input_example.json",
        "registered_model_meta",
    }
)

# MLflow column types and the data kinds that fit them without losing information.
_COMPATIBLE = {
    "double": {"float", "integer"},
    "float": {"float", "integer"},
    "long": {"integer"},
    "integer": {"integer"},
    "boolean": {"boolean"},
    "string": {"string"},
}


def data_kind(dtype: np.dtype | ExtensionDtype) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return "string"
    return str(dtype)


def compare_manifests(registered: Mapping[str, str], actual: Mapping[str, str]) -> list[str]:
    reasons = [f"artifact file {path} is missing" for path in sorted(set(registered) - set(actual))]
    reasons += [
        f"artifact file {path} is not in the registered manifest"
        for path in sorted(set(actual) - set(registered))
    ]
    reasons += [
        f"artifact file {path} has sha256 {actual[path][:12]}..., registered {registered[path][:12]}..."
        for path in sorted(set(registered) & set(actual))
        if registered[path] != actual[path]
    ]
    return reasons


def compare_signature(
    signature: Sequence[tuple[str, str]], data_kinds: Mapping[str, str], *, label: str
) -> list[str]:
    reasons = []
    for column, expected in signature:
        if column == label:
            # The gate feeds the evaluation set's columns by name: the model would be handed the answer.
            reasons.append(f"signature input {column} is the policy's label: a model cannot take it as input")
        elif column not in data_kinds:
            reasons.append(f"signature input {column} ({expected}) is missing from the evaluation data")
        elif data_kinds[column] not in _COMPATIBLE.get(expected, {expected}):
            reasons.append(
                f"signature input {column} expects {expected}, the evaluation data holds {data_kinds[column]}"
            )
    return reasons


def _flavor(mlmodel: Mapping[str, object] | None, name: str) -> Mapping[str, object]:
    flavors = mlmodel.get("flavors") if isinstance(mlmodel, Mapping) else None
    flavor = flavors.get(name) if isinstance(flavors, Mapping) else None
    return flavor if isinstance(flavor, Mapping) else {}


def _shown(value: object, limit: int = 80) -> str:
    # A value from the artifact, made one short printable line for the reason.
    text = value if isinstance(value, str) and value.isprintable() else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def model_file_name(mlmodel: Mapping[str, object] | None) -> str | None:
    """The sklearn flavor's `pickled_model` when it names a skops file at the artifact's root."""
    name = _flavor(mlmodel, SKLEARN).get("pickled_model")
    if not isinstance(name, str) or name in SUPPORT_FILES or "\\" in name:
        return None
    return name if PurePosixPath(name).name == name and name.endswith(".skops") else None


def flavor_problems(mlmodel: Mapping[str, object]) -> list[str]:
    """Exactly the two flavors of a skops scikit-learn model, each a mapping."""
    flavors = mlmodel.get("flavors")
    if not isinstance(flavors, Mapping):
        return ["MLmodel has no flavors mapping: the artifact's loader cannot be checked"]
    reasons = [
        f"MLmodel flavors.{_shown(name)} is not a supported flavor (only {PYFUNC} and {SKLEARN} are)"
        for name in sorted(flavors, key=str)
        if name not in (PYFUNC, SKLEARN)
    ]
    for name in (PYFUNC, SKLEARN):
        if name not in flavors:
            reasons.append(f"MLmodel flavors.{name} is missing: a supported model has {PYFUNC} and {SKLEARN}")
        elif not isinstance(flavors[name], Mapping):
            reasons.append(f"MLmodel flavors.{name} is {_shown(flavors[name])}, not a mapping")
    return reasons


def unknown_field_problems(mlmodel: Mapping[str, object]) -> list[str]:
    """Fail closed: a field the platform has not reviewed may point MLflow at code or other data."""
    reasons = []
    for name, known in ((PYFUNC, PYFUNC_KEYS), (SKLEARN, SKLEARN_KEYS)):
        reasons += [
            f"MLmodel flavors.{name}.{_shown(key)} is not a field the platform knows: refused, "
            "it could make MLflow load code or other data"
            for key in sorted(_flavor(mlmodel, name), key=str)
            if key not in known
        ]
    return reasons


def code_path_problems(mlmodel: Mapping[str, object]) -> list[str]:
    """No flavor ships code: MLflow puts `code` paths on sys.path before loading the model."""
    return [
        f"MLmodel flavors.{name}.code is set to {_shown(value)}: code shipped with a model runs when MLflow "
        "loads it"
        for name in (PYFUNC, SKLEARN)
        if (value := _flavor(mlmodel, name).get("code")) is not None
    ]


def loader_problems(mlmodel: Mapping[str, object]) -> list[str]:
    """`mlflow.pyfunc.load_model` imports `loader_module` and calls it: only MLflow's own sklearn loader."""
    flavor = _flavor(mlmodel, PYFUNC)
    if not flavor or flavor.get("loader_module") == LOADER_MODULE:
        return []
    return [
        f"MLmodel flavors.{PYFUNC}.loader_module is {_shown(flavor.get('loader_module'))}; only "
        f"{LOADER_MODULE} is allowed (the loader module is imported and run when the model is served)"
    ]


def model_file_problems(mlmodel: Mapping[str, object], files: Collection[str]) -> list[str]:
    """The sklearn flavor names a skops file at the root, it is there, and pyfunc serves that same file."""
    declared = _flavor(mlmodel, SKLEARN).get("pickled_model")
    name = model_file_name(mlmodel)
    if name is None:
        return [
            f"MLmodel flavors.{SKLEARN}.pickled_model is {_shown(declared)}; it must name a .skops file "
            "at the artifact's root"
        ]
    reasons = []
    if name not in files:
        reasons.append(
            f"MLmodel flavors.{SKLEARN}.pickled_model names {_shown(name)}, which is not in the artifact"
        )
    pyfunc = _flavor(mlmodel, PYFUNC)
    if pyfunc and pyfunc.get("model_path") != name:
        reasons.append(
            f"MLmodel flavors.{PYFUNC}.model_path is {_shown(pyfunc.get('model_path'))}, not the "
            f"sklearn flavor's model file {_shown(name)}"
        )
    return reasons


def serialization_problems(mlmodel: Mapping[str, object]) -> list[str]:
    fmt = _flavor(mlmodel, SKLEARN).get("serialization_format")
    if fmt == SAFE_FORMAT:
        return []
    return [
        f"the model is serialized as {_shown(fmt) if fmt is not None else 'unknown'} (MLmodel "
        f"flavors.{SKLEARN}.serialization_format); only {SAFE_FORMAT} is loaded (pickle formats run "
        "arbitrary code on load)"
    ]


def predict_fn_problems(mlmodel: Mapping[str, object]) -> list[str]:
    """The server calls the method the gate scores: with another (or none, which is `predict`), the
    endpoint would answer labels the gate never judged, at a threshold it did not apply."""
    flavor = _flavor(mlmodel, PYFUNC)
    if flavor.get("predict_fn") == SERVED_METHOD:
        return []
    return [
        f"MLmodel flavors.{PYFUNC}.predict_fn is {_shown(flavor.get('predict_fn'))}; only {SERVED_METHOD} "
        "is served (the scores the gate judges)"
    ]


def environment_problems(mlmodel: Mapping[str, object]) -> list[str]:
    """`env`, when present, names the environment files MLflow writes, and nothing else."""
    flavor = _flavor(mlmodel, PYFUNC)
    if flavor.get("env") is None:
        return []
    env = flavor["env"]
    if not isinstance(env, Mapping):
        return [f"MLmodel flavors.{PYFUNC}.env is {_shown(env)}, not a mapping of environment files"]
    return [
        f"MLmodel flavors.{PYFUNC}.env.{_shown(kind)} is {_shown(path)}; only "
        + ", ".join(f"{k}: {v}" for k, v in ENV_FILES.items())
        + " are allowed"
        for kind, path in sorted(env.items(), key=lambda item: str(item[0]))
        if ENV_FILES.get(kind) != path
    ]


def declared_trust_problems(mlmodel: Mapping[str, object], *, trusted_types: Sequence[str]) -> list[str]:
    """MLflow's own loader trusts the types the artifact declares: they must be within the policy's."""
    declared = _flavor(mlmodel, SKLEARN).get("skops_trusted_types")
    if declared is None:
        return []
    if not isinstance(declared, list) or not all(isinstance(t, str) for t in declared):
        return [
            f"MLmodel flavors.{SKLEARN}.skops_trusted_types is {_shown(declared)}, not a list of type names"
        ]
    beyond = sorted(set(declared) - set(trusted_types))
    if not beyond:
        return []
    return [
        f"MLmodel flavors.{SKLEARN}.skops_trusted_types declares types outside the policy's trusted list: "
        + ", ".join(_shown(t) for t in beyond)
    ]


def file_problems(files: Collection[str], *, model_file: str | None) -> list[str]:
    """Only MLmodel, the model file and the support files: any other file could be code."""
    allowed = SUPPORT_FILES | ({model_file} if model_file else set())
    return [
        f"artifact file {_shown(path, 200)} is not allowed: a model artifact holds only MLmodel, its .skops "
        "model file, environment files and input examples"
        for path in sorted(files)
        if path not in allowed
    ]


def supported_shape_problems(mlmodel: Mapping[str, object], files: Collection[str]) -> list[str]:
    """Every shape rule that needs no policy: until these pass, nothing in the artifact is opened."""
    return [
        *flavor_problems(mlmodel),
        *unknown_field_problems(mlmodel),
        *code_path_problems(mlmodel),
        *loader_problems(mlmodel),
        *model_file_problems(mlmodel, files),
        *serialization_problems(mlmodel),
        *predict_fn_problems(mlmodel),
        *environment_problems(mlmodel),
        *file_problems(files, model_file=model_file_name(mlmodel)),
    ]


def artifact_shape_problems(
    mlmodel: Mapping[str, object], files: Collection[str], *, trusted_types: Sequence[str]
) -> list[str]:
    """Why the artifact is not the supported shape, one line per problem; empty when it is."""
    return [
        *supported_shape_problems(mlmodel, files),
        *declared_trust_problems(mlmodel, trusted_types=trusted_types),
    ]


def pinned_digest_problems(
    registered_manifest: Mapping[str, str], actual_manifest: Mapping[str, str], *, digest: str
) -> list[str]:
    """The files are the artifact `digest` names, with the check the serving pod runs on them.

    The pod verifies the files against the release's pinned digest alone: a digest that names other
    files than those judged here (a digest tag set by hand, a registration that lied) would have it
    accept an artifact no gate judged."""
    # Imported here: the pod's check module is light, this one loads with the gates.
    from modelops.serving.artifact_check import digest_problem, mismatch_reason

    if problem := digest_problem(digest):
        return [problem]
    reason = mismatch_reason(actual_manifest, digest=digest, registered=registered_manifest)
    return [reason] if reason else []


def check_integrity(
    *,
    registered_manifest: Mapping[str, str] | None,
    actual_manifest: Mapping[str, str],
    pinned_digest: str,
    mlmodel: Mapping[str, object] | None,
    untrusted_types: Sequence[str] | None,
    trusted_types: Sequence[str],
    signature: Sequence[tuple[str, str]] | None,
    data_kinds: Mapping[str, str],
    label: str,
) -> GateResult:
    """Verified files (the registered manifest, and the digest the release pins: `pinned_digest`), then
    the supported shape, then the skops file's types and the signature.

    `mlmodel` is None when it was not read (an unverified artifact is not parsed);
    `untrusted_types` is None when the skops file was not opened (an unsupported shape is not).
    """
    reasons: list[str] = []
    if registered_manifest is None:
        reasons.append("the model version carries no sha256 manifest: its artifact cannot be verified")
    else:
        reasons += compare_manifests(registered_manifest, actual_manifest)
        if not reasons:
            reasons += pinned_digest_problems(registered_manifest, actual_manifest, digest=pinned_digest)
    if not reasons:  # only a verified artifact is worth inspecting further
        if mlmodel is None:
            reasons.append("the artifact's MLmodel was not read: its shape cannot be checked")
        else:
            reasons += artifact_shape_problems(mlmodel, actual_manifest, trusted_types=trusted_types)
    if not reasons:  # only the supported shape has a skops file worth opening
        if untrusted_types is None:
            reasons.append("the skops file's types were not read: it cannot be loaded safely")
        elif refused := sorted(set(untrusted_types) - set(trusted_types)):
            reasons.append(
                "the artifact needs types outside the policy's trusted list: "
                + ", ".join(_shown(t) for t in refused)
            )
        if signature is None:
            reasons.append("the model has no input signature to check the data against")
        else:
            reasons += compare_signature(signature, data_kinds, label=label)
    pyfunc, sklearn = _flavor(mlmodel, PYFUNC), _flavor(mlmodel, SKLEARN)
    return GateResult(
        "integrity",
        not reasons,
        tuple(reasons),
        {
            "files_verified": len(actual_manifest),
            "pinned_digest": pinned_digest,
            "serialization_format": _fact(sklearn.get("serialization_format")),
            "loader_module": _fact(pyfunc.get("loader_module")),
            "model_file": _fact(sklearn.get("pickled_model")),
            "untrusted_types": sorted(untrusted_types or ()),
            "signature_columns": len(signature or ()),
        },
    )


def _fact(value: object) -> str | None:
    # Safe YAML can still hold dates and lists: the report gets text.
    return None if value is None else _shown(value)
