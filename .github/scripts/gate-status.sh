#!/usr/bin/env bash
# The promotion gate's verdict as a commit status on the pull request's head commit.
#
# The gate runs on `pull_request_target` (main's workflow, on the registry's runners), and a check run
# of such a workflow belongs to the base branch's commit, not to the pull request's head, which is what
# branch protection judges. So this step sets the required context on the head commit: success only
# when the gate job succeeded; failure when it failed, was cancelled or was skipped. GH_TOKEN is the
# gate App's installation token, the App branch protection pins the required check to: a status the
# GitHub Actions app (any workflow's own token) sets under the same name does not count.
#
# Env: REPOSITORY (ORG/REPO), HEAD_SHA, GATE_RESULT (needs.gate.result), STATUS_CONTEXT, RUN_URL, GH_TOKEN.
set -euo pipefail

for name in REPOSITORY HEAD_SHA GATE_RESULT STATUS_CONTEXT RUN_URL GH_TOKEN; do
  if [ -z "${!name:-}" ]; then
    echo "gate-status: $name is not set" >&2
    exit 2
  fi
done
if ! [[ "$HEAD_SHA" =~ ^[0-9a-f]{40}$ ]]; then
  echo "gate-status: HEAD_SHA is not a commit id: $HEAD_SHA" >&2
  exit 2
fi

if [ "$GATE_RESULT" = "success" ]; then
  state=success
  description="The promotion gate passed."
else
  state=failure
  description="The promotion gate did not pass (${GATE_RESULT})."
fi

body="$(mktemp)"
trap 'rm -f "$body"' EXIT
jq -n --arg state "$state" --arg context "$STATUS_CONTEXT" --arg description "$description" \
  --arg url "$RUN_URL" '{state: $state, context: $context, description: $description, target_url: $url}' \
  > "$body"
gh api --method POST "/repos/$REPOSITORY/statuses/$HEAD_SHA" --input - < "$body" > /dev/null
echo "status '$STATUS_CONTEXT' on $HEAD_SHA: $state"
