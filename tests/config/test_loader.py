from pathlib import Path

import pytest

from modelops.config import load_environment, load_model_policy, resolve_policy
from modelops.errors import InputError

ENVIRONMENTS = ["local", "dev", "staging", "prod"]


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_every_committed_environment_loads(repo_root, name):
    environment = load_environment(name, root=repo_root)
    assert environment.name == name
    assert environment.promotion.fairness.min_disparate_impact_ratio >= 0.8  # the four-fifths rule at least


def test_the_ladder_names_real_environments_and_has_no_cycle(repo_root):
    requires = {name: load_environment(name, root=repo_root).promotion.requires for name in ENVIRONMENTS}
    assert requires["staging"] == "dev"
    assert requires["prod"] == "staging"
    for name in ENVIRONMENTS:
        seen, current = set(), name
        while current is not None:
            assert current in requires, f"{name} requires unknown {current}"
            assert current not in seen, f"cycle through {current}"
            seen.add(current)
            current = requires[current]


def test_committed_model_policies_load(repo_root):
    policy = load_model_policy("credit-risk", root=repo_root)
    assert policy.sensitive_columns == ["sex", "age"]
    assert policy.metrics[0] == policy.primary_metric


def _write_env(root: Path, name: str, text: str) -> Path:
    path = root / "environments" / f"{name}.yaml"
    path.write_text(text)
    return path


def test_a_misspelt_threshold_names_file_and_field(project_copy):
    path = project_copy / "environments" / "dev.yaml"
    path.write_text(path.read_text().replace("min_group_size:", "min_group_sise:"))
    with pytest.raises(InputError) as error:
        load_environment("dev", root=project_copy)
    message = str(error.value)
    assert str(path) in message
    assert "promotion.fairness" in message
    assert "\n" not in message


def test_a_wrong_type_names_the_field(project_copy):
    path = project_copy / "environments" / "dev.yaml"
    path.write_text(path.read_text().replace("p95_ms: 50", "p95_ms: fast"))
    with pytest.raises(InputError, match=r"field 'promotion\.latency\.p95_ms'"):
        load_environment("dev", root=project_copy)


def test_broken_yaml_names_the_line(project_copy):
    path = _write_env(project_copy, "dev", "name: dev\npromotion: [\n")
    with pytest.raises(InputError, match=r"dev\.yaml: line \d+ not valid YAML"):
        load_environment("dev", root=project_copy)
    assert path.exists()


def test_an_unknown_environment_lists_the_known_ones(repo_root):
    with pytest.raises(InputError, match=r"no such environment 'qa' \(known: dev, local, prod, staging\)"):
        load_environment("qa", root=repo_root)


def test_a_name_that_disagrees_with_the_file_is_refused(project_copy):
    path = project_copy / "environments" / "dev.yaml"
    path.write_text(path.read_text().replace("name: dev", "name: prod"))
    with pytest.raises(InputError, match="field 'name': is 'prod', expected 'dev'"):
        load_environment("dev", root=project_copy)


def test_sensitive_bands_need_one_label_per_band(project_copy):
    path = project_copy / "policies" / "models" / "credit-risk.yaml"
    path.write_text(path.read_text().replace("labels: [under_25, 25_and_over]", "labels: [under_25]"))
    with pytest.raises(InputError, match=r"sensitive_features\.1"):
        load_model_policy("credit-risk", root=project_copy)


def test_model_overrides_apply_to_their_environment_only(project_copy):
    path = project_copy / "policies" / "models" / "credit-risk.yaml"
    path.write_text(
        path.read_text().replace(
            "overrides: {}", "overrides:\n  prod:\n    fairness:\n      min_group_size: 80"
        )
    )
    policy = load_model_policy("credit-risk", root=project_copy)
    prod = resolve_policy(load_environment("prod", root=project_copy), policy, root=project_copy)
    dev = resolve_policy(load_environment("dev", root=project_copy), policy, root=project_copy)
    assert prod.fairness.min_group_size == 80
    assert prod.fairness.min_disparate_impact_ratio == 0.8  # the rest is inherited
    assert dev.fairness.min_group_size == 30


def test_an_invalid_override_names_its_path(project_copy):
    path = project_copy / "policies" / "models" / "credit-risk.yaml"
    path.write_text(
        path.read_text().replace(
            "overrides: {}", "overrides:\n  prod:\n    fairness:\n      min_group_size: -1"
        )
    )
    policy = load_model_policy("credit-risk", root=project_copy)
    with pytest.raises(InputError, match=r"field 'overrides\.prod\.fairness\.min_group_size'"):
        resolve_policy(load_environment("prod", root=project_copy), policy, root=project_copy)


@pytest.mark.parametrize(
    "name",
    ["../environments/dev", "dev.yaml", "/etc/hostname", "environments/dev", "./dev", "", "dev/", "DEV"],
)
def test_an_environment_is_named_never_given_as_a_path(repo_root, name):
    with pytest.raises(InputError) as error:
        load_environment(name, root=repo_root)
    assert str(error.value) == (
        f"{repo_root / 'environments'}: no such environment '{name}' (known: dev, local, prod, staging)"
    )


def test_a_path_to_a_real_environment_file_elsewhere_is_not_read(project_copy, tmp_path):
    """A readable file outside environments/, written as a relative or absolute path, is never loaded."""
    (tmp_path / "elsewhere.yaml").write_text((project_copy / "environments" / "dev.yaml").read_text())
    for name in ("../../elsewhere", str(tmp_path / "elsewhere")):
        with pytest.raises(InputError, match=r"no such environment .* \(known: dev, local, prod, staging\)"):
            load_environment(name, root=project_copy)


@pytest.mark.parametrize(
    "name", ["../models/credit-risk", "credit-risk.yaml", "/etc/hostname", "", "./credit-risk"]
)
def test_a_model_is_named_never_given_as_a_path(repo_root, name):
    with pytest.raises(InputError) as error:
        load_model_policy(name, root=repo_root)
    assert str(error.value) == (
        f"{repo_root / 'policies' / 'models'}: no policy for model '{name}' (known: credit-risk)"
    )


def test_a_merge_key_in_an_environment_file_is_refused(project_copy):
    # Go's yaml.v2 (Argo CD's generator) applies a `<<` over the keys before it; ruamel keeps the
    # explicit key. The gate would read `main` where Argo CD reads `release-train`.
    path = project_copy / "environments" / "prod.yaml"
    text = path.read_text()
    forged = "defaults: &defaults {target_revision: release-train}\n" + text.replace(
        "  target_revision: main\n", "  target_revision: main\n  <<: *defaults\n"
    )
    assert forged.count("<<") == 1
    path.write_text(forged)
    with pytest.raises(InputError, match=r"prod\.yaml: line \d+ not valid YAML: a merge key \(<<\)"):
        load_environment("prod", root=project_copy)


def test_a_key_given_twice_in_an_environment_file_is_refused(project_copy):
    path = project_copy / "environments" / "prod.yaml"
    path.write_text(path.read_text().replace("  target_revision: main\n", "  target_revision: main\n" * 2))
    with pytest.raises(InputError, match=r"prod\.yaml: line \d+ not valid YAML: target_revision given twice"):
        load_environment("prod", root=project_copy)
