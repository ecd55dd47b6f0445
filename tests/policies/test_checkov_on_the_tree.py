"""checkov over the committed tree's renders, as the policy workflow runs it: the built-in checks and
the platform's rules (wrapped) find nothing, and the platform's rules read every object they cover."""

from __future__ import annotations

import re
from pathlib import Path

from modelops.gitops.validation import checkov_tool
from tests.cli_runner import invoke
from tests.conftest import REPO_ROOT
from tests.tools import require_command

ENVIRONMENTS = ("local", "dev", "staging", "prod")


def test_committed_tree_has_no_failed_check(tmp_path: Path) -> None:
    require_command("kubectl")
    require_command("uvx")
    result = invoke("validate", "--render-to", tmp_path)  # the workflow's step, on the committed tree
    assert result.exit_code == 0, result.output

    outcomes = checkov_tool.scan(tmp_path, root=REPO_ROOT)

    assert [(o.check_id, o.resource, o.file) for o in outcomes if not o.passed] == []
    judged = {(o.check_id, o.resource) for o in outcomes}
    for environment in ENVIRONMENTS:
        for rule in (1, 2, 3, 4, 5, 6, 15, 16):
            assert (f"CKV_MODELOPS_{rule}", f"InferenceService.models-{environment}.credit-risk") in judged
        for rule in (13, 14, 17):
            assert (f"CKV_MODELOPS_{rule}", f"HTTPRoute.models-{environment}.credit-risk") in judged
        for rule in (7, 8, 9):
            assert (f"CKV_MODELOPS_{rule}", f"AppProject.argocd.models-{environment}") in judged


def test_the_pin_is_read_from_the_one_file_dependabot_updates() -> None:
    assert checkov_tool.pinned_version(REPO_ROOT).count(".") == 2
    workflow = (REPO_ROOT / ".github" / "workflows" / "policy.yml").read_text()
    assert "policies/checkov/requirements.txt" in workflow
    # No version written anywhere else in the workflow: each use reads the file.
    assert set(re.findall(r"checkov==(\S*)", workflow)) == {"//p'", '$checkov_version"'}
