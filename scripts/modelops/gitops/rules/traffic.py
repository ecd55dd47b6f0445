"""Rules for traffic: each HTTPRoute rule splits requests by explicit percentages, mirrors a valid
share, and sends a model's requests only to that model's own Services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from modelops.gitops.repository import layout
from modelops.gitops.rules.reading import get, items, model_of
from modelops.gitops.rules.rule import Rule

GATEWAY_API = "gateway.networking.k8s.io"
HTTP_ROUTE = frozenset({"HTTPRoute"})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _weights(route: dict[str, Any]) -> list[str]:
    # `modelops rollout` reads and writes the split as percentages. Gateway API weights are relative
    # and an omitted one counts as 1, so 90/20 or a missing weight would still route, just not the
    # share the rollout recorded and the gates watch.
    problems = []
    for index, rule in enumerate(items(get(route, "spec", "rules"))):
        refs = items(get(rule, "backendRefs"))
        if not refs:
            continue  # a redirect or fixed-response rule routes to no backend
        weights = [get(ref, "weight") for ref in refs]
        if not all(_is_int(w) and w >= 0 for w in weights):
            problems.append(
                f"rule {index}: every backend needs an integer weight (a missing one counts as 1)"
            )
        elif sum(weights) != 100:
            problems.append(f"rule {index}: backend weights add up to {sum(weights)}, not 100")
    return problems


def _filters(rule: Any) -> Iterator[Any]:
    """A rule's filters and its backends' filters: a mirror may sit on either."""
    yield from items(get(rule, "filters"))
    for ref in items(get(rule, "backendRefs")):
        yield from items(get(ref, "filters"))


def valid_mirror(mirror: Any) -> bool:
    """percent in [0, 100] or a fraction numerator/denominator in [0, 1], not both; neither is 100 %."""
    if not isinstance(mirror, dict):
        return False
    percent, fraction = mirror.get("percent"), mirror.get("fraction")
    if percent is not None and not (_is_int(percent) and 0 <= percent <= 100):
        return False
    if fraction is not None:
        numerator, denominator = get(fraction, "numerator"), get(fraction, "denominator")
        denominator = 100 if denominator is None else denominator
        if not (_is_int(numerator) and _is_int(denominator) and 0 <= numerator <= denominator > 0):
            return False
    return percent is None or fraction is None


def _mirror_share(route: dict[str, Any]) -> list[str]:
    # Only Gateway API versions that know the field validate it; a controller that receives 150 (or
    # a fraction above 1) either rejects the whole route or mirrors everything.
    return [
        f"rule {index}: requestMirror must mirror a percent in 0-100 or a fraction in 0-1, not both"
        for index, rule in enumerate(items(get(route, "spec", "rules")))
        if any(
            get(f, "type") == "RequestMirror" and not valid_mirror(get(f, "requestMirror"))
            for f in _filters(rule)
        )
    ]


def _own_backends(route: dict[str, Any]) -> list[str]:
    # Another Service, kind or namespace would send the model's traffic somewhere no gate judged.
    model = model_of(route)
    own = {layout.stable_service(model), layout.stable_service(layout.candidate_name(model))}
    problems = []
    for index, rule in enumerate(items(get(route, "spec", "rules"))):
        mirrors = [get(f, "requestMirror", "backendRef") for f in _filters(rule)]
        for ref in [*items(get(rule, "backendRefs")), *(m for m in mirrors if m is not None)]:
            kind, name, namespace = get(ref, "kind") or "Service", get(ref, "name"), get(ref, "namespace")
            # A kind is only a Service in the core group: `group: other.io, kind: Service` is another API.
            if get(ref, "group") or name not in own or namespace or kind != "Service":
                kind = f"{get(ref, 'group')}/{kind}" if get(ref, "group") else kind
                problems.append(
                    f"rule {index}: backend {kind}/{name}{f' in {namespace}' if namespace else ''} is "
                    f"not one of {model}'s own Services ({', '.join(sorted(own))})"
                )
    return problems


RULES = (
    Rule(
        id="CKV_MODELOPS_13",
        title="HTTPRoute must not have backendRefs weights that are not integers summing to 100 per rule",
        kinds=HTTP_ROUTE,
        api_group=GATEWAY_API,
        category="NETWORKING",
        problems=_weights,
    ),
    Rule(
        id="CKV_MODELOPS_14",
        title="HTTPRoute must not mirror a RequestMirror percent outside 0-100",
        kinds=HTTP_ROUTE,
        api_group=GATEWAY_API,
        category="NETWORKING",
        problems=_mirror_share,
    ),
    Rule(
        id="CKV_MODELOPS_17",
        title="HTTPRoute must not send a model's requests to a Service other than the model's own",
        kinds=HTTP_ROUTE,
        api_group=GATEWAY_API,
        category="NETWORKING",
        problems=_own_backends,
    ),
)
