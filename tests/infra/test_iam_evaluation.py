"""The policy evaluator (iam_evaluation.py) answers AWS's documented examples as AWS does.

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
    listing = Request(DAVE, "s3:ListBucket", "arn:aws:s3:::amzn-s3-demo-bucket")
    assert is_allowed(listing, identity=[DAVE_MAY_LIST], resource=CROSS_ACCOUNT_BUCKET)
    assert not is_allowed(listing, identity=[], resource=CROSS_ACCOUNT_BUCKET)  # B has not delegated
    stranger = Request(f"arn:aws:iam::{C}:role/Dave", "s3:ListBucket", listing.resource)
    assert not is_allowed(stranger, identity=[DAVE_MAY_LIST], resource=CROSS_ACCOUNT_BUCKET)
    put = Request(DAVE, "s3:PutObject", "arn:aws:s3:::amzn-s3-demo-bucket/x")
    everything = _doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    assert not is_allowed(put, identity=[everything], resource=CROSS_ACCOUNT_BUCKET)


def test_within_one_account_either_policy_may_allow_but_an_account_principal_only_delegates():
    owner_role = f"arn:aws:iam::{A}:role/app"
    request = Request(owner_role, "s3:GetObject", "arn:aws:s3:::b/k")
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
    request = Request(DAVE, "s3:ListBucket", "arn:aws:s3:::amzn-s3-demo-bucket")
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
    assert is_allowed(Request(role, "s3:GetObject", "arn:aws:s3:::b/k"), identity=[reads], resource=bucket)
    plain = Request(role, "s3:GetObject", "arn:aws:s3:::b/k", {"aws:SecureTransport": "false"})
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
        request = Request(DAVE, "s3:ListBucket", "arn:aws:s3:::b", context)
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
        request = Request(DAVE, "s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": prefix})
        assert (
            is_allowed(request, identity=[DAVE_MAY_LIST], resource=Resource(bucket.arn, A, under)) is expected
        )


# AWS KMS developer guide, "Default key policy" and "kms:ViaService".
KEY = f"arn:aws:kms:us-east-2:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_a_key_policy_must_allow_and_via_service_limits_use_to_that_service():
    owner = f"arn:aws:iam::{A}:role/app"
    decrypt_anything = _doc({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
    bare = Resource(KEY, A, _doc(), policy_required=True)
    assert not is_allowed(Request(owner, "kms:Decrypt", KEY), identity=[decrypt_anything], resource=bare)
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
    assert is_allowed(Request(owner, "kms:Decrypt", KEY), identity=[decrypt_anything], resource=default)
    assert not is_allowed(Request(owner, "kms:Decrypt", KEY), identity=[], resource=default)
    via_ec2 = _doc(
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "ec2.us-west-2.amazonaws.com"}},
        }
    )
    through = Request(owner, "kms:Decrypt", KEY, {"kms:ViaService": "ec2.us-west-2.amazonaws.com"})
    assert is_allowed(through, identity=[via_ec2], resource=default)
    assert not is_allowed(Request(owner, "kms:Decrypt", KEY), identity=[via_ec2], resource=default)
    other = Request(owner, "kms:Decrypt", KEY, {"kms:ViaService": "s3.us-west-2.amazonaws.com"})
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
            "Condition": {"ArnLike": {"aws:PrincipalArn": "*"}},
        },
    ],
)
def test_what_it_cannot_evaluate_is_refused_rather_than_skipped(statement):
    request = Request(f"arn:aws:iam::{A}:role/app", "s3:GetObject", "arn:aws:s3:::b/k")
    with pytest.raises(Unsupported):
        is_allowed(request, identity=[_doc(statement)], resource=Resource("arn:aws:s3:::b", A))


def test_not_principal_is_refused():
    policy = _doc({"Effect": "Deny", "NotPrincipal": {"AWS": DAVE}, "Action": "s3:*", "Resource": "*"})
    with pytest.raises(Unsupported):
        is_allowed(
            Request(DAVE, "s3:GetObject", "arn:aws:s3:::b/k"),
            identity=[],
            resource=Resource("arn:aws:s3:::b", A, policy),
        )
