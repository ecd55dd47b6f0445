"""The pull-request gate's report: one table of releases, the validation, and each release's own report."""

from __future__ import annotations

from modelops.gitops.rules.finding import Finding
from modelops.pipeline.pr_gate import PullRequestVerdict
from modelops.pipeline.release_gate import ReleaseVerdict


def _champion(release: ReleaseVerdict) -> str:
    if release.champion:
        return f"v{release.champion}"
    return f"none ({release.no_champion})" if release.no_champion else "none"


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or "—"


def render_pull_request_report(verdict: PullRequestVerdict) -> str:
    mark = "✅" if verdict.passed else "❌"
    lines = [f"## {mark} Promotion gate: {'PASSED' if verdict.passed else 'BLOCKED'}", ""]
    validation = verdict.validation
    if validation is None:
        lines.append("Nothing to gate: no file under gitops/, environments/ or policies/ changed.")
        return "\n".join(lines) + "\n"
    if not verdict.releases:
        lines += ["No release changed: validation only.", ""]
    else:
        lines += [
            "| model | environment | challenger | champion | what changed | result | reasons |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in verdict.releases:
            lines.append(
                f"| {r.model} | {r.environment} | v{r.challenger} | {_champion(r)} | {_cell(r.change)} | "
                f"{'✅' if r.passed else '❌'} | {_cell('; '.join(r.reasons))} |"
            )
        lines.append("")
    source = f" ({verdict.validation_source})" if verdict.validation_source else ""
    lines.append(
        f"Validation{source}: {validation.objects} rendered objects, "
        f"{'no problems' if validation.passed else f'{len(validation.findings)} problem(s)'}."
    )
    lines += [_finding_line(f) for f in validation.findings]
    if verdict.other_changes:
        lines += [
            "",
            "Changed besides releases (validated above; releases they changed are gated above; "
            "environments/ and policies/ judge this pull request as the base has them):",
        ]
        lines += [f"- `{path}`: reaches {where}" for path, where in verdict.other_changes]
    for r in verdict.releases:
        if r.report_dir is not None and (r.report_dir / "report.md").is_file():
            lines += [
                "",
                "<details><summary>" + f"{r.model} v{r.challenger} → {r.environment}" + "</summary>",
                "",
                f"Files of this release's gate: `{r.report_dir.name}/` beside this report.",
                "",
                (r.report_dir / "report.md").read_text(),
                "</details>",
            ]
    return "\n".join(lines) + "\n"


def _finding_line(finding: Finding) -> str:
    subject = f"{finding.object}: " if finding.object else ""
    rule = f" ({finding.rule})" if finding.rule else ""
    return f"- `{finding.file}`: {subject}{finding.message}{rule}"
