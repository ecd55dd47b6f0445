"""The tests' IAM evaluator decides as AWS documents it; a wrong evaluator would pass wrong policies."""

from __future__ import annotations

import pytest

from tests.infra.iam_boundary_evaluation import Request, evaluate


def _doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


ALLOW_S3 = {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}


def test_explicit_deny_wins_and_nothing_is_allowed_by_default():
    deny = {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}
    assert evaluate([_doc(ALLOW_S3)], Request("s3:GetObject", "arn:aws:s3:::b/k")) == "allow"
    assert evaluate([_doc(ALLOW_S3), _doc(deny)], Request("s3:GetObject", "arn:aws:s3:::b/k")) == "deny"
    assert evaluate([_doc(ALLOW_S3)], Request("s3:PutObject", "arn:aws:s3:::b/k")) == "implicit-deny"
    assert evaluate([_doc(ALLOW_S3)], Request("s3:GetObject", "arn:aws:s3:::c/k")) == "implicit-deny"
    # Actions ignore case, resources do not.
    assert evaluate([_doc(ALLOW_S3)], Request("S3:getobject", "arn:aws:s3:::b/k")) == "allow"
    assert evaluate([_doc(ALLOW_S3)], Request("s3:GetObject", "arn:aws:s3:::B/k")) == "implicit-deny"


def test_a_boundary_caps_what_the_identity_policies_allow():
    everything = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    request = Request("ec2:RunInstances", "*")
    assert evaluate([_doc(everything)], request) == "allow"
    assert evaluate([_doc(everything)], request, boundary=_doc(ALLOW_S3)) == "implicit-deny"
    assert (
        evaluate([_doc(ALLOW_S3)], Request("s3:GetObject", "arn:aws:s3:::b/k"), boundary=_doc(everything))
        == "allow"
    )


def test_conditions_missing_keys_and_variables():
    tagged = {
        "Effect": "Allow",
        "Action": "ec2:DeleteVpc",
        "Resource": "arn:aws:ec2:*:${aws:PrincipalAccount}:vpc/*",
        "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}},
    }
    vpc = "arn:aws:ec2:eu-west-1:111122223333:vpc/v"
    mine = {"aws:PrincipalAccount": "111122223333"}
    assert (
        evaluate([_doc(tagged)], Request("ec2:DeleteVpc", vpc, {**mine, "aws:ResourceTag/env": "dev"}))
        == "allow"
    )
    assert evaluate([_doc(tagged)], Request("ec2:DeleteVpc", vpc, mine)) == "implicit-deny"  # key missing
    other = {"aws:PrincipalAccount": "444455556666", "aws:ResourceTag/env": "dev"}
    assert evaluate([_doc(tagged)], Request("ec2:DeleteVpc", vpc, other)) == "implicit-deny"
    negated = {**tagged, "Condition": {"StringNotEquals": {"aws:ResourceTag/env": "prod"}}}
    assert evaluate([_doc(negated)], Request("ec2:DeleteVpc", vpc, mine)) == "allow"  # missing: holds
    if_exists = {**tagged, "Condition": {"StringEqualsIfExists": {"aws:ResourceTag/env": "dev"}}}
    assert evaluate([_doc(if_exists)], Request("ec2:DeleteVpc", vpc, mine)) == "allow"
    null = {**tagged, "Condition": {"Null": {"aws:ResourceTag/env": "false"}}}
    assert evaluate([_doc(null)], Request("ec2:DeleteVpc", vpc, mine)) == "implicit-deny"
    listed = {**tagged, "Condition": {"ArnEquals": {"iam:PolicyARN": ["arn:aws:iam::aws:policy/A"]}}}
    policy = {**mine, "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
    assert evaluate([_doc(listed)], Request("ec2:DeleteVpc", vpc, policy)) == "implicit-deny"


def test_an_unknown_operator_is_refused_rather_than_ignored():
    odd = {**ALLOW_S3, "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}}
    with pytest.raises(ValueError, match="DateGreaterThan"):
        evaluate([_doc(odd)], Request("s3:GetObject", "arn:aws:s3:::b/k", {"aws:CurrentTime": "now"}))
