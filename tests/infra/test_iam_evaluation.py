"""The policy evaluator (iam_evaluation.py) answers AWS's documented examples as AWS does.

A wrong evaluator would pass wrong policies: the registry's, the deploy role's and the boundary's.

Each case names the AWS page it comes from. Every allow is paired with the nearest request AWS
refuses, so an evaluator that says yes too easily fails here before it vouches for the registry.
"""

from __future__ import annotations

import json

import pytest

from tests.infra.iam_evaluation import (
    Request,
    Resource,
    Unsupported,
    action_matches,
    decide,
    is_allowed,
    resource_matches,
)

A, B, C = "111122223333", "444455556666", "777788889999"  # bucket owner, a second, a third account
DAVE = f"arn:aws:iam::{B}:role/Dave"


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# Amazon S3 user guide, "Amazon S3 resources" (ARN examples, wildcards).
@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        ("arn:aws:s3:::examplebucket/*", "arn:aws:s3:::examplebucket/developers/design_info.doc", True),
        ("arn:aws:s3:::examplebucket/*", "arn:aws:s3:::examplebucket2/developers/design_info.doc", False),
        ("arn:aws:s3:::examplebucket/*", "arn:aws:s3:::examplebucket", False),
        ("arn:aws:s3:::*", "arn:aws:s3:::anybucket/any/key", True),
        ("arn:aws:s3:::example?bucket/*", "arn:aws:s3:::example1bucket/a", True),
        ("arn:aws:s3:::example?bucket/*", "arn:aws:s3:::example2bucket/a", True),
        ("arn:aws:s3:::example?bucket/*", "arn:aws:s3:::examplebucket/a", False),  # ? is one character
        ("arn:aws:s3:::example?bucket/*", "arn:aws:s3:::example12bucket/a", False),
        # IAM user guide, "Resource": `*` spans `/` inside a segment; paths as prefixes.
        ("arn:aws:s3:::examplebucket/*/test/*", "arn:aws:s3:::examplebucket/1/2/test/3/x.jpg", True),
        ("arn:aws:s3:::examplebucket/*/test/*", "arn:aws:s3:::examplebucket/1/2/tests/x.jpg", False),
        (f"arn:aws:iam::{A}:user/accounting/*", f"arn:aws:iam::{A}:user/accounting/bob", True),
        (f"arn:aws:iam::{A}:user/accounting/*", f"arn:aws:iam::{A}:user/sales/bob", False),
        # A wildcard inside a segment does not cross the colons between segments.
        (f"arn:aws:kms:*-1:{A}:key/*", f"arn:aws:kms:x:eu-west-1:{A}:key/k", False),
        (f"arn:aws:kms:*-1:{A}:key/*", f"arn:aws:kms:eu-west-1:{A}:key/k", True),
        # Resource names are case sensitive.
        ("arn:aws:s3:::examplebucket/*", "arn:aws:s3:::ExampleBucket/a", False),
    ],
)
def test_resource_wildcards_match_as_documented(pattern, arn, expected):
    assert resource_matches(pattern, arn) is expected


# IAM user guide, "Action": wildcards, and names compared without regard to case.
@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("iam:*AccessKey*", "iam:CreateAccessKey", True),
        ("iam:*AccessKey*", "iam:ListAccessKeys", True),
        ("iam:*AccessKey*", "iam:ListUsers", False),
        ("s3:*", "s3:DeleteObjectVersion", True),
        ("s3:*", "kms:Decrypt", False),
        ("IAM:listaccesskeys", "iam:ListAccessKeys", True),
        ("s3:Get*", "s3:PutObject", False),
        ("s3:GetObject", "s3:GetObjectVersion", False),  # no implicit prefix match
    ],
)
def test_action_wildcards_match_as_documented(pattern, action, expected):
    assert action_matches(pattern, action) is expected


# Amazon S3 user guide, "Example 2: Bucket owner granting cross-account bucket permissions":
# account A's bucket policy names account B; B's administrator must still grant its own principal.
CROSS_ACCOUNT_BUCKET = Resource(
    "arn:aws:s3:::amzn-s3-demo-bucket",
    A,
    _doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
            "Action": ["s3:GetLifecycleConfiguration", "s3:ListBucket"],
            "Resource": "arn:aws:s3:::amzn-s3-demo-bucket",
        }
    ),
)
DAVE_MAY_LIST = _doc({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::*"})


def test_cross_account_access_needs_both_the_bucket_policy_and_the_callers_own_policy():
    listing = Request("s3:ListBucket", "arn:aws:s3:::amzn-s3-demo-bucket", principal=DAVE)
    assert is_allowed(listing, identity=[DAVE_MAY_LIST], resource=CROSS_ACCOUNT_BUCKET)
    assert not is_allowed(listing, identity=[], resource=CROSS_ACCOUNT_BUCKET)  # B has not delegated
    stranger = Request("s3:ListBucket", listing.resource, principal=f"arn:aws:iam::{C}:role/Dave")
    assert not is_allowed(stranger, identity=[DAVE_MAY_LIST], resource=CROSS_ACCOUNT_BUCKET)
    put = Request("s3:PutObject", "arn:aws:s3:::amzn-s3-demo-bucket/x", principal=DAVE)
    everything = _doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    assert not is_allowed(put, identity=[everything], resource=CROSS_ACCOUNT_BUCKET)


def test_within_one_account_either_policy_may_allow_but_an_account_principal_only_delegates():
    owner_role = f"arn:aws:iam::{A}:role/app"
    request = Request("s3:GetObject", "arn:aws:s3:::b/k", principal=owner_role)
    no_policy = Resource("arn:aws:s3:::b", A)
    reads = _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})
    assert is_allowed(request, identity=[reads], resource=no_policy)
    assert not is_allowed(request, identity=[], resource=no_policy)
    naming_role = _doc(
        {"Effect": "Allow", "Principal": {"AWS": owner_role}, "Action": "s3:GetObject", "Resource": "*"}
    )
    assert is_allowed(request, identity=[], resource=Resource("arn:aws:s3:::b", A, naming_role))
    naming_account = naming_role.replace(owner_role, f"arn:aws:iam::{A}:root")
    assert not is_allowed(request, identity=[], resource=Resource("arn:aws:s3:::b", A, naming_account))


# IAM user guide, "Policy evaluation logic": an explicit deny in any policy overrides any allow.
def test_an_explicit_deny_anywhere_wins():
    request = Request("s3:ListBucket", "arn:aws:s3:::amzn-s3-demo-bucket", principal=DAVE)
    denies = _doc({"Effect": "Deny", "Action": "s3:*", "Resource": "*"})
    assert not is_allowed(request, identity=[DAVE_MAY_LIST, denies], resource=CROSS_ACCOUNT_BUCKET)


# Amazon S3 user guide, "Enforce encryption in transit": deny every action without TLS.
def test_the_documented_tls_only_bucket_policy_refuses_plain_http():
    policy = _doc(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    bucket = Resource("arn:aws:s3:::b", A, policy)
    reads = _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    role = f"arn:aws:iam::{A}:role/app"
    assert is_allowed(
        Request("s3:GetObject", "arn:aws:s3:::b/k", principal=role), identity=[reads], resource=bucket
    )
    plain = Request("s3:GetObject", "arn:aws:s3:::b/k", {"aws:SecureTransport": "false"}, principal=role)
    assert not is_allowed(plain, identity=[reads], resource=bucket)


# Amazon S3 user guide, bucket policy examples: "Limit listing to a prefix" (s3:prefix), with the
# explicit deny on StringNotEquals, which also refuses a listing that sends no prefix at all.
def test_listing_is_limited_to_the_prefix_and_a_missing_prefix_fails_the_positive_test():
    policy = _doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": DAVE},
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::b",
            "Condition": {"StringEquals": {"s3:prefix": "projects"}},
        },
        {
            "Effect": "Deny",
            "Principal": {"AWS": DAVE},
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::b",
            "Condition": {"StringNotEquals": {"s3:prefix": "projects"}},
        },
    )
    bucket = Resource("arn:aws:s3:::b", A, policy)

    def lists(prefix: str | None) -> bool:
        context = {} if prefix is None else {"s3:prefix": prefix}
        request = Request("s3:ListBucket", "arn:aws:s3:::b", context, principal=DAVE)
        return is_allowed(request, identity=[DAVE_MAY_LIST], resource=bucket)

    assert lists("projects")
    assert not lists("projects2")
    assert not lists(None)
    under = _doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": DAVE},
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::b",
            "Condition": {"StringLike": {"s3:prefix": "projects/*"}},
        }
    )
    for prefix, expected in (("projects/2024/", True), ("projects", False), ("other/projects/", False)):
        request = Request("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": prefix}, principal=DAVE)
        assert (
            is_allowed(request, identity=[DAVE_MAY_LIST], resource=Resource(bucket.arn, A, under)) is expected
        )


# AWS KMS developer guide, "Default key policy" and "kms:ViaService".
KEY = f"arn:aws:kms:us-east-2:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_a_key_policy_must_allow_and_via_service_limits_use_to_that_service():
    owner = f"arn:aws:iam::{A}:role/app"
    decrypt_anything = _doc({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
    bare = Resource(KEY, A, _doc(), policy_required=True)
    assert not is_allowed(
        Request("kms:Decrypt", KEY, principal=owner), identity=[decrypt_anything], resource=bare
    )
    default = Resource(
        KEY,
        A,
        _doc(
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ),
        policy_required=True,
    )
    assert is_allowed(
        Request("kms:Decrypt", KEY, principal=owner), identity=[decrypt_anything], resource=default
    )
    assert not is_allowed(Request("kms:Decrypt", KEY, principal=owner), identity=[], resource=default)
    via_ec2 = _doc(
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "ec2.us-west-2.amazonaws.com"}},
        }
    )
    through = Request("kms:Decrypt", KEY, {"kms:ViaService": "ec2.us-west-2.amazonaws.com"}, principal=owner)
    assert is_allowed(through, identity=[via_ec2], resource=default)
    assert not is_allowed(Request("kms:Decrypt", KEY, principal=owner), identity=[via_ec2], resource=default)
    other = Request("kms:Decrypt", KEY, {"kms:ViaService": "s3.us-west-2.amazonaws.com"}, principal=owner)
    assert not is_allowed(other, identity=[via_ec2], resource=default)


@pytest.mark.parametrize(
    "statement",
    [
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "x"}},
        },
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}/*"},
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "ml"}},
        },
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"Foo:StringEquals": {"aws:PrincipalTag/team": "ml"}},
        },
        {"Effect": "Allow", "Action": "s3:${aws:username}", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:*"},  # no Resource: not a valid identity statement
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Principal": "*"},
    ],
)
def test_what_it_cannot_evaluate_is_refused_rather_than_skipped(statement):
    request = Request("s3:GetObject", "arn:aws:s3:::b/k", principal=f"arn:aws:iam::{A}:role/app")
    with pytest.raises(Unsupported):
        is_allowed(request, identity=[_doc(statement)], resource=Resource("arn:aws:s3:::b", A))


def test_not_principal_is_refused():
    policy = _doc({"Effect": "Deny", "NotPrincipal": {"AWS": DAVE}, "Action": "s3:*", "Resource": "*"})
    with pytest.raises(Unsupported):
        is_allowed(
            Request("s3:GetObject", "arn:aws:s3:::b/k", principal=DAVE),
            identity=[],
            resource=Resource("arn:aws:s3:::b", A, policy),
        )


# --- identity policies and a permissions boundary (one account, no resource policy) -------------


def _parsed(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


ALLOW_S3 = {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}


def test_explicit_deny_wins_and_nothing_is_allowed_by_default():
    deny = {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}
    get = Request("s3:GetObject", "arn:aws:s3:::b/k")
    assert decide(get, identity=[_parsed(ALLOW_S3)]) == "allow"
    assert decide(get, identity=[_parsed(ALLOW_S3), _parsed(deny)]) == "explicit-deny"
    assert (
        decide(Request("s3:PutObject", "arn:aws:s3:::b/k"), identity=[_parsed(ALLOW_S3)]) == "implicit-deny"
    )
    assert (
        decide(Request("s3:GetObject", "arn:aws:s3:::c/k"), identity=[_parsed(ALLOW_S3)]) == "implicit-deny"
    )
    # Actions ignore case, resources do not.
    assert decide(Request("S3:getobject", "arn:aws:s3:::b/k"), identity=[_parsed(ALLOW_S3)]) == "allow"
    assert (
        decide(Request("s3:GetObject", "arn:aws:s3:::B/k"), identity=[_parsed(ALLOW_S3)]) == "implicit-deny"
    )


# IAM user guide, "Permissions boundaries for IAM entities": the effective permissions are the
# intersection; an explicit deny in the boundary is an explicit deny.
def test_a_boundary_caps_what_the_identity_policies_allow():
    everything = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    request = Request("ec2:RunInstances", "*")
    assert decide(request, identity=[_parsed(everything)]) == "allow"
    assert decide(request, identity=[_parsed(everything)], boundary=_parsed(ALLOW_S3)) == "implicit-deny"
    get = Request("s3:GetObject", "arn:aws:s3:::b/k")
    assert decide(get, identity=[_parsed(ALLOW_S3)], boundary=_parsed(everything)) == "allow"
    assert (
        decide(get, identity=[], boundary=_parsed(everything)) == "implicit-deny"
    )  # a boundary grants nothing
    denies = {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}
    assert decide(get, identity=[], boundary=_parsed(everything, denies)) == "explicit-deny"
    assert not is_allowed(get, identity=[_parsed(ALLOW_S3)], boundary=_parsed(everything, denies))


def test_a_boundary_also_caps_a_resource_policy_that_names_the_role():
    """IAM user guide, "Permissions boundaries": a resource policy's grant to a role ARN is limited
    by the role's boundary; only a grant to the session itself is not (and sessions are not modelled)."""
    role = f"arn:aws:iam::{A}:role/app"
    naming_role = _doc(
        {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "s3:GetObject", "Resource": "*"}
    )
    bucket = Resource("arn:aws:s3:::b", A, naming_role)
    get = Request("s3:GetObject", "arn:aws:s3:::b/k", principal=role)
    assert decide(get, identity=[], resource=bucket) == "allow"
    assert decide(get, identity=[], resource=bucket, boundary=_parsed(ALLOW_S3)) == "allow"
    only_ec2 = {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}
    assert decide(get, identity=[], resource=bucket, boundary=_parsed(only_ec2)) == "implicit-deny"


def test_conditions_missing_keys_and_variables():
    tagged = {
        "Effect": "Allow",
        "Action": "ec2:DeleteVpc",
        "Resource": "arn:aws:ec2:*:${aws:PrincipalAccount}:vpc/*",
        "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}},
    }
    vpc = "arn:aws:ec2:eu-west-1:111122223333:vpc/v"
    mine = {"aws:PrincipalAccount": "111122223333"}

    def delete(statement: dict, context: dict) -> str:
        return decide(Request("ec2:DeleteVpc", vpc, context), identity=[_parsed(statement)])

    assert delete(tagged, {**mine, "aws:ResourceTag/env": "dev"}) == "allow"
    assert delete(tagged, mine) == "implicit-deny"  # key missing
    assert (
        delete(tagged, {"aws:PrincipalAccount": "444455556666", "aws:ResourceTag/env": "dev"})
        == "implicit-deny"
    )
    negated = {**tagged, "Condition": {"StringNotEquals": {"aws:ResourceTag/env": "prod"}}}
    assert delete(negated, mine) == "allow"  # missing: holds
    if_exists = {**tagged, "Condition": {"StringEqualsIfExists": {"aws:ResourceTag/env": "dev"}}}
    assert delete(if_exists, mine) == "allow"
    assert delete(if_exists, {**mine, "aws:ResourceTag/env": "prod"}) == "implicit-deny"
    null = {**tagged, "Condition": {"Null": {"aws:ResourceTag/env": "false"}}}
    assert delete(null, mine) == "implicit-deny"
    listed = {**tagged, "Condition": {"ArnEquals": {"iam:PolicyARN": ["arn:aws:iam::aws:policy/A"]}}}
    policy = {**mine, "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
    assert delete(listed, policy) == "implicit-deny"


def test_an_unknown_operator_is_refused_rather_than_ignored():
    odd = {**ALLOW_S3, "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}}
    with pytest.raises(ValueError, match="DateGreaterThan"):
        decide(
            Request("s3:GetObject", "arn:aws:s3:::b/k", {"aws:CurrentTime": "now"}), identity=[_parsed(odd)]
        )


# --- what the two former evaluators disagreed on or left open ---------------------------------


# IAM user guide, "Multivalued context keys examples": Deny with ForAllValues:StringNotLike on
# aws:TagKeys "key1*". Matches (denies) for [key2:audit] and for no tag keys at all; not for
# [key1:legal]. Each request value must pass the negated operator, so a mix is no match either.
@pytest.mark.parametrize(
    ("tag_keys", "decision"),
    [
        (["key1:legal"], "allow"),
        (["key1:hr", "key1:personnel"], "allow"),
        (["key2:audit"], "explicit-deny"),
        (None, "explicit-deny"),
        (["key1:legal", "key2:audit"], "allow"),
    ],
)
def test_for_all_values_with_a_negated_operator_is_taken_value_by_value(tag_keys, decision):
    deny = {
        "Effect": "Deny",
        "Action": ["iam:Tag*", "iam:UnTag*"],
        "Resource": ["*"],
        "Condition": {"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}},
    }
    allow = {"Effect": "Allow", "Action": "iam:TagRole", "Resource": "*"}
    context = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
    request = Request("iam:TagRole", f"arn:aws:iam::{A}:role/r", context)
    assert decide(request, identity=[_parsed(allow, deny)]) == decision


def test_for_any_value_matches_when_one_value_does():
    allow = {
        "Effect": "Allow",
        "Action": "iam:TagRole",
        "Resource": "*",
        "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "env"]}},
    }
    tag = Request("iam:TagRole", f"arn:aws:iam::{A}:role/r", {"aws:TagKeys": ["cost", "env"]})
    assert decide(tag, identity=[_parsed(allow)]) == "allow"
    other = Request("iam:TagRole", f"arn:aws:iam::{A}:role/r", {"aws:TagKeys": ["cost"]})
    assert decide(other, identity=[_parsed(allow)]) == "implicit-deny"
    missing = Request("iam:TagRole", f"arn:aws:iam::{A}:role/r")
    assert decide(missing, identity=[_parsed(allow)]) == "implicit-deny"


def test_arn_conditions_take_wildcards_within_segments():
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{A}:role/app-*"}},
    }
    get = "arn:aws:s3:::b/k"
    assert is_allowed(
        Request("s3:GetObject", get, principal=f"arn:aws:iam::{A}:role/app-1"), identity=[_doc(statement)]
    )
    assert not is_allowed(
        Request("s3:GetObject", get, principal=f"arn:aws:iam::{B}:role/app-1"), identity=[_doc(statement)]
    )
    not_like = {
        **statement,
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{A}:role/app-*"}},
    }
    assert not is_allowed(
        Request("s3:GetObject", get, principal=f"arn:aws:iam::{A}:role/app-1"), identity=[_doc(not_like)]
    )


def test_a_variables_value_is_literal_and_a_missing_one_is_refused():
    own_prefix = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/${aws:PrincipalTag/team}/*",
    }
    mine = Request("s3:GetObject", "arn:aws:s3:::b/ml/k", {"aws:PrincipalTag/team": "ml"})
    assert decide(mine, identity=[_parsed(own_prefix)]) == "allow"
    theirs = Request("s3:GetObject", "arn:aws:s3:::b/web/k", {"aws:PrincipalTag/team": "ml"})
    assert decide(theirs, identity=[_parsed(own_prefix)]) == "implicit-deny"
    # A tag value of `*` does not turn the prefix into a wildcard.
    star = Request("s3:GetObject", "arn:aws:s3:::b/web/k", {"aws:PrincipalTag/team": "*"})
    assert decide(star, identity=[_parsed(own_prefix)]) == "implicit-deny"
    with pytest.raises(Unsupported, match="PrincipalTag/team"):
        decide(Request("s3:GetObject", "arn:aws:s3:::b/ml/k"), identity=[_parsed(own_prefix)])
    # IAM user guide, "Policy variables": only version 2012-10-17 substitutes; older text is literal.
    old = {"Version": "2008-10-17", "Statement": [own_prefix]}
    with pytest.raises(Unsupported, match="version"):
        decide(mine, identity=[old])


def test_condition_keys_ignore_case_and_the_context_cannot_contradict_the_principal():
    tls_only = _doc(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"Bool": {"AWS:securetransport": False}},
        }
    )
    bucket = Resource("arn:aws:s3:::b", A, tls_only)
    reads = _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    role = f"arn:aws:iam::{A}:role/app"
    plain = Request("s3:GetObject", "arn:aws:s3:::b/k", {"aws:SecureTransport": "false"}, principal=role)
    assert decide(plain, identity=[reads], resource=bucket) == "explicit-deny"
    assert is_allowed(
        Request("s3:GetObject", "arn:aws:s3:::b/k", principal=role), identity=[reads], resource=bucket
    )
    posing = Request("s3:GetObject", "arn:aws:s3:::b/k", {"aws:PrincipalAccount": B}, principal=role)
    with pytest.raises(Unsupported, match="contradicts"):
        decide(posing, identity=[reads], resource=bucket)
    twice = Request("s3:GetObject", "arn:aws:s3:::b/k", {"s3:prefix": "a", "S3:Prefix": "b"})
    with pytest.raises(Unsupported, match="twice"):
        decide(twice, identity=[reads])


def test_a_resource_policy_needs_a_principal_to_decide():
    bucket = Resource(
        "arn:aws:s3:::b", A, _doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"})
    )
    with pytest.raises(Unsupported, match="principal"):
        decide(Request("s3:GetObject", "arn:aws:s3:::b/k"), identity=[], resource=bucket)


def test_a_negated_for_any_value_on_a_missing_key_is_refused():
    deny = {
        "Effect": "Deny",
        "Action": "iam:TagRole",
        "Resource": "*",
        "Condition": {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["team"]}},
    }
    with pytest.raises(Unsupported, match="missing"):
        decide(Request("iam:TagRole", f"arn:aws:iam::{A}:role/r"), identity=[_parsed(deny)])
