"""Pure: a blocked artifact's verdict stands for its copies, under the same policy, for artifact gates."""

from __future__ import annotations

from modelops.config import load_environment, load_model_policy, resolve_policy
from modelops.gates.precedent import EarlierVerdict, check_precedent, policy_digest

MANIFEST = {"MLmodel": "m1", "model.skops": "w1", "conda.yaml": "c1"}
POLICY = "sha256:" + "1" * 64


def earlier(**changes) -> EarlierVerdict:
    fields = {
        "version": "3",
        "artifact_digest": "sha256:artifact",
        "manifest": MANIFEST,
        "failed_gates": frozenset({"fairness"}),
        "policy_digest": POLICY,
        "gate_run_id": "run42",
    }
    return EarlierVerdict(**{**fields, **changes})


def judge(*verdicts: EarlierVerdict, digest: str = "sha256:artifact", manifest=MANIFEST, policy=POLICY):
    return check_precedent(
        environment="dev", artifact_digest=digest, manifest=manifest, earlier=verdicts, current_policy=policy
    )


def test_the_same_artifact_inherits_the_block_and_names_the_verdict():
    result = judge(earlier())
    assert not result.passed
    assert result.reasons == (
        "the same artifact as v3, blocked for dev by gate run run42 (fairness) under the same policy: "
        "that verdict stands",
    )


def test_the_same_model_file_under_another_mlmodel_inherits_it_too():
    copy = {**MANIFEST, "MLmodel": "m2"}
    result = judge(earlier(), digest="sha256:other", manifest=copy)
    assert not result.passed and result.reasons[0].startswith("the same model file as v3")


def test_an_integrity_block_passes_to_the_same_artifact_only_not_to_its_weights_in_a_clean_wrapper():
    # A forged wrapper (code beside the weights) is refused by integrity; the same weights registered
    # cleanly are judged afresh, and integrity, being deterministic, would refuse them again if they
    # were the problem. Judged on the same model file, evaluation and fairness blocks still carry over.
    forged = earlier(failed_gates=frozenset({"integrity"}))
    clean = {**MANIFEST, "MLmodel": "m2"}
    assert not judge(forged).passed
    assert judge(forged, digest="sha256:other", manifest=clean).passed
    unfair = earlier(failed_gates=frozenset({"integrity", "fairness"}))
    result = judge(unfair, digest="sha256:other", manifest=clean)
    assert result.reasons == (
        "the same model file as v3, blocked for dev by gate run run42 (fairness) under the same policy: "
        "that verdict stands",
    )


def test_another_artifact_passes():
    assert judge(earlier(), digest="sha256:other", manifest={**MANIFEST, "model.skops": "w2"}).passed
    assert judge().passed  # nothing blocked before


def test_a_changed_policy_judges_again():
    result = judge(earlier(policy_digest="sha256:" + "2" * 64))
    assert result.passed
    assert result.measured["earlier"][0] == {
        "version": "3",
        "match": "the same artifact",
        "gate_run_id": "run42",
        "failed_gates": ["fairness"],
        "policy_unchanged": False,
        "inherited": False,
    }


def test_a_block_owed_to_the_ladder_or_the_pin_is_not_the_artifacts():
    assert judge(earlier(failed_gates=frozenset({"ladder", "pin"}))).passed
    assert not judge(earlier(failed_gates=frozenset({"ladder", "integrity"}))).passed


def test_a_verdict_recorded_without_policy_or_gates_cannot_show_it_changed():
    assert not judge(earlier(policy_digest=None, failed_gates=None)).passed


def test_the_policy_digest_follows_every_threshold_and_the_model_policy(repo_root):
    environment = load_environment("dev", root=repo_root)
    model = load_model_policy("credit-risk", root=repo_root)
    policy = resolve_policy(environment, model, root=repo_root)
    assert policy_digest(policy, model) == policy_digest(policy, model)
    looser = policy.model_copy(update={"fairness": policy.fairness.model_copy(update={"min_group_size": 29})})
    assert policy_digest(looser, model) != policy_digest(policy, model)
    trusting = model.model_copy(update={"trusted_types": [*model.trusted_types, "builtins.eval"]})
    assert policy_digest(policy, trusting) != policy_digest(policy, model)
