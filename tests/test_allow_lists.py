"""The one allow-list rule the registry's settings and CrossGuard share, on both sides of each bound."""

from __future__ import annotations

import pytest

from modelops.allow_lists import allow_list_problems


@pytest.mark.parametrize(
    "cidrs",
    [
        ["203.0.113.0/24"],
        ["198.51.100.7/32", "203.0.113.0/24"],
        ["10.20.0.0/16"],  # the widest IPv4 network admitted
        ["2001:db8:1::/48"],  # the widest IPv6 network admitted
        ["2001:db8::1/128"],
    ],
)
def test_networks_of_an_organisation_are_an_allow_list(cidrs):
    assert allow_list_problems(cidrs) == []


@pytest.mark.parametrize(
    ("cidrs", "reason"),
    [
        ([], "empty"),
        (["0.0.0.0/0"], "whole internet"),
        (["::/0"], "whole internet"),
        (["10.20.0.0/15"], "wider than /16"),  # one bit past the bound
        (["2001:db8::/47"], "wider than /48"),
        (["0.0.0.0/1", "128.0.0.0/1"], "wider than /16"),
        (["::ffff:0:0/96"], "IPv4-mapped"),
        (["::ffff:203.0.113.0/120"], "IPv4-mapped"),
        (["203.0.113.7/24"], "not a network address"),
        (["203.0.113.0/33"], "not a network address"),
        (["example.com"], "not a network address"),
        ([None], "not a network address"),
    ],
)
def test_the_internet_in_any_spelling_is_not(cidrs, reason):
    problems = allow_list_problems(cidrs)
    assert problems and reason in problems[0], problems


def test_each_bad_entry_is_named_once():
    problems = allow_list_problems(["203.0.113.0/24", "0.0.0.0/0", "10.0.0.0/8"])
    assert len(problems) == 2 and "0.0.0.0/0" in problems[0] and "10.0.0.0/8" in problems[1]
