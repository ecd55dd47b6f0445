"""Resource quantities as Kubernetes reads them, and the rightsizing policy as environments/ holds it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from modelops.config import load_environment
from modelops.config.rightsizing import RightsizingPolicy
from modelops.errors import InputError
from modelops.rightsizing import quantity

MIB = 1024**2


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", 0.25),
        ("1", 1.0),
        (2, 2.0),
        ("0.5", 0.5),
        ("512Mi", 512 * MIB),
        ("1Gi", 1024 * MIB),
        ("500M", 500e6),
        ("1e3", 1000.0),
        ("128974848", 128974848.0),
    ],
)
def test_quantities_read_as_kubernetes_reads_them(text: object, value: float) -> None:
    assert quantity.parse(text, where="x") == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "lots", "1Xi", "-1", True, None, "1 Gi"])
def test_what_is_no_quantity_is_named(text: object) -> None:
    with pytest.raises(InputError, match=r"release\.yaml: .* is not a resource quantity"):
        quantity.parse(text, where="release.yaml")


def test_written_values_round_up_and_read_back() -> None:
    assert quantity.cpu_text(0.1101) == "111m"
    assert quantity.cpu_text(2.0) == "2"
    assert quantity.memory_text(379.2 * MIB) == "380Mi"
    assert quantity.memory_text(2048 * MIB) == "2Gi"
    for cores in (0.05, 0.333, 1.5):
        assert quantity.parse(quantity.cpu_text(cores), where="x") >= cores


def test_a_window_shorter_than_the_history_it_needs_is_refused() -> None:
    with pytest.raises(ValidationError, match="shorter than min_history_days"):
        RightsizingPolicy(window="3d", min_history_days=7)
    with pytest.raises(ValidationError, match="no duration"):
        RightsizingPolicy(resolution="5 minutes")


def test_a_misspelt_policy_field_names_the_file_and_field(tmp_path: Path) -> None:
    source = Path("environments/dev.yaml").read_text()
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text(source.replace("min_change:", "min_chnage:"))
    with pytest.raises(InputError, match=r"dev.yaml: field 'rightsizing.min_chnage'"):
        load_environment("dev", root=tmp_path)
