"""The pull-request report: a verdict line, one table per gate, the reasons."""

from __future__ import annotations

from modelops.gates.result import GateResult, fmt
from modelops.pipeline.outcome import GateOutcome

PASS, FAIL = "✅", "❌"


def _mark(passed: bool) -> str:
    return PASS if passed else FAIL


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _interval(values: object) -> str:
    if not isinstance(values, list) or len(values) != 2:
        return ""
    return f"[{fmt(values[0])}, {fmt(values[1])}]"


def evaluation_table(result: GateResult) -> str:
    rows = []
    for row in result.measured.get("metrics", []):
        rows.append(
            [
                str(row["metric"]),
                fmt(row.get("champion")) if "champion" in row else "—",
                f"{fmt(row['challenger'])} {_interval(row.get('challenger_ci'))}",
                f"{fmt(row['delta'])} {_interval(row.get('delta_ci'))}" if "delta" in row else "—",
                fmt(row.get("minimum")) if row.get("minimum") is not None else "—",
                fmt(row.get("max_regression")) if row.get("max_regression") is not None else "—",
            ]
        )
    return _table(["metric", "champion", "challenger (CI)", "Δ (CI)", "minimum", "max regression"], rows)


def fairness_tables(result: GateResult) -> str:
    parts = []
    for feature in result.measured.get("features", []):
        parts.append(
            f"**{feature['feature']}**: demographic parity difference "
            f"{fmt(feature['demographic_parity_difference'])}, equalized odds difference "
            f"{fmt(feature['equalized_odds_difference'])}, disparate impact ratio "
            f"{fmt(feature['disparate_impact_ratio'])}\n"
        )
        parts.append(
            _table(
                ["group", "rows", "selection rate", "TPR", "FPR", "accuracy"],
                [
                    [
                        str(g["group"]),
                        str(g["count"]),
                        fmt(g["selection_rate"]),
                        fmt(g["true_positive_rate"]),
                        fmt(g["false_positive_rate"]),
                        fmt(g["accuracy"]),
                    ]
                    for g in feature["groups"]
                ],
            )
        )
    return "\n\n".join(parts)


def drift_table(result: GateResult) -> str:
    rows = [
        [
            str(c["name"]),
            _mark(not c["drifted"]),
            str(c["method"]),
            fmt(c["score"]),
            fmt(c["threshold"]),
            f"{c['reference_missing_share']:.0%} → {c['current_missing_share']:.0%}"
            if c["current_missing_share"] == c["current_missing_share"]
            else "—",
        ]
        for c in result.measured.get("columns", [])
    ]
    summary = (
        f"Drifted share {fmt(result.measured.get('drifted_share'), 2)} "
        f"(allowed {fmt(result.measured.get('max_drifted_share'), 2)}).\n\n"
    )
    return summary + _table(["column", "stable", "method", "score", "threshold", "missing"], rows)


def integrity_table(result: GateResult) -> str:
    measured = result.measured
    per_version = (
        {"candidate": measured.get("candidate", {}), "champion": measured.get("champion", {})}
        if "candidate" in measured
        else {"candidate": measured}
    )
    rows = [
        [
            role,
            str(facts.get("files_verified", "—")),
            str(facts.get("serialization_format") or "—"),
            ", ".join(facts.get("untrusted_types", [])) or "none",
            str(facts.get("signature_columns", "—")),
        ]
        for role, facts in per_version.items()
    ]
    header = ["version", "files checked (sha256)", "format", "trusted types used", "signature columns"]
    return _table(header, rows)


def leakage_table(result: GateResult) -> str:
    measured = result.measured
    if "evaluation_rows" not in measured:
        return ""
    summary = (
        f"{measured['duplicated_rows']} duplicated rows in the evaluation set "
        f"(allowed {measured['max_duplicated_rows']}).\n\n"
    )
    rows = [
        [
            str(v["name"]),
            "not logged" if v.get("training_rows") is None else str(v["training_rows"]),
            "—"
            if v.get("overlapping_rows") is None
            else f"{v['overlapping_rows']} of {measured['evaluation_rows']}",
        ]
        for v in measured.get("versions", [])
    ]
    return summary + _table(["version", "training rows", "evaluation rows in its training data"], rows)


def precedent_table(result: GateResult) -> str:
    earlier = result.measured.get("earlier", [])
    summary = f"Judged under policies `{result.measured.get('policy', '?')}`."
    if not earlier:
        return summary + " No earlier version with this artifact was blocked here."
    rows = [
        [
            f"v{e['version']}",
            e["match"],
            str(e["gate_run_id"] or "—"),
            ", ".join(e["failed_gates"]) if e["failed_gates"] is not None else "not recorded",
            "same" if e["policy_unchanged"] else "changed since",
            "yes" if e["inherited"] else "no",
        ]
        for e in earlier
    ]
    header = ["blocked version", "match", "gate run", "failed gates", "policy", "inherited"]
    return summary + "\n\n" + _table(header, rows)


def evaluation_set_line(outcome: GateOutcome) -> str:
    """Which evaluation set both models were scored on: the pin, and where its bytes came from."""
    data = outcome.evaluation_data
    return (
        f"the pinned evaluation set ({data.rows} rows, location `{data.location}`, sha256 `{data.digest}`, "
        f"read from `{data.source}`)"
    )


def generic_table(result: GateResult) -> str:
    rows = [
        [key, fmt(value, 1) if isinstance(value, float) else str(value)]
        for key, value in result.measured.items()
        if not isinstance(value, dict | list)
    ]
    return _table(["measure", "value"], rows) if rows else ""


_RENDERERS = {
    "evaluation": evaluation_table,
    "fairness": fairness_tables,
    "drift": drift_table,
    "integrity": integrity_table,
    "leakage": leakage_table,
    "precedent": precedent_table,
}


def render_report(outcome: GateOutcome) -> str:
    verdict = "PASSED" if outcome.passed else "BLOCKED"
    champion = (
        f"champion v{outcome.champion.version}"
        if outcome.champion
        else f"no champion ({outcome.no_champion})"
    )
    lines = [
        f"## {_mark(outcome.passed)} {verdict}: {outcome.candidate.name} v{outcome.candidate.version} "
        f"→ {outcome.environment}",
        "",
        f"Compared with {champion} on {evaluation_set_line(outcome)}; drift against "
        f"`{outcome.reference_data.source}` ({outcome.reference_data.rows} rows). "
        f"Artifact digest `{outcome.candidate.artifact_digest}`.",
        "",
        _table(
            ["gate", "result", "reasons"],
            [[r.gate, _mark(r.passed), "; ".join(r.reasons) or "—"] for r in outcome.results],
        ),
    ]
    for result in outcome.results:
        body = _RENDERERS.get(result.gate, generic_table)(result)
        lines += ["", f"### {_mark(result.passed)} {result.gate}", ""]
        lines += [f"- {reason}" for reason in result.reasons]
        if result.reasons and body:
            lines.append("")
        if body:
            lines.append(body)
    if outcome.drift_html:
        lines += ["", f"The drift report is `{outcome.drift_html.name}`, beside this release's `report.md`."]
    return "\n".join(lines) + "\n"
