"""`platform.alerting.page` in the environment files: who is paged is each file's explicit choice."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from modelops.errors import InputError
from modelops_infra import load_settings

PROD_PAGE = "page: {receiver: pagerduty, secret: alertmanager-pager}"


def _prod_with(repo_root: Path, tmp_path: Path, old: str, new: str) -> Path:
    shutil.copytree(repo_root / "environments", tmp_path / "environments")
    path = tmp_path / "environments" / "prod.yaml"
    text = path.read_text()
    assert old in text, f"fixture drifted: {old!r} not in prod.yaml"
    path.write_text(text.replace(old, new, 1))
    return tmp_path


@pytest.mark.parametrize(
    ("new", "field", "reason"),
    [
        ("page: {receiver: pagerduty}", "platform.alerting.page", "needs secret"),
        ("page: {receiver: null, secret: alertmanager-pager}", "platform.alerting.page", "remove secret"),
        ("page: {receiver: email, secret: alertmanager-pager}", "platform.alerting.page.receiver", ""),
        ("page: {secret: alertmanager-pager}", "platform.alerting.page.receiver", ""),
        ("page: {receiver: slack, secret: Pager_Secret}", "platform.alerting.page.secret", ""),
        (
            "page: {receiver: slack, secret: p, url: https://hooks.slack.com/x}",
            "platform.alerting.page.url",
            "",
        ),
    ],
)
def test_a_pager_without_its_secret_or_of_an_unknown_kind_is_refused(repo_root, tmp_path, new, field, reason):
    root = _prod_with(repo_root, tmp_path, PROD_PAGE, new)
    with pytest.raises(InputError, match=re.escape(f"prod.yaml: field '{field}")) as refused:
        load_settings("prod", root=root)
    assert reason in str(refused.value)


def test_an_environment_without_an_alerting_section_is_refused(repo_root, tmp_path):
    """No default: an environment that forgot to say would otherwise page no one, silently."""
    shutil.copytree(repo_root / "environments", tmp_path / "environments")
    path = tmp_path / "environments" / "prod.yaml"
    text, removed = re.subn(r"  alerting:\n(    .*\n)+", "", path.read_text())
    assert removed == 1
    path.write_text(text)
    with pytest.raises(InputError, match=re.escape("prod.yaml: field 'platform.alerting")):
        load_settings("prod", root=tmp_path)


def test_the_url_or_key_itself_has_no_place_in_the_file(repo_root):
    for path in (repo_root / "environments").glob("*.yaml"):
        text = path.read_text()
        assert "hooks.slack.com" not in text and "events.pagerduty.com" not in text, path
