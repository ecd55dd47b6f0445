#!/usr/bin/env bash
# One round of `modelops rollout advance --env ENVIRONMENT`, as the rollout workflow and the rollout
# CronJob both run it, from a checkout of the branch Argo CD follows, with GH_TOKEN set.
#
# One open move per rollout: a rollout branch with an open pull request becomes a local branch,
# which `advance` sees and does not propose again. A pushed branch whose pull request was closed is
# no proposal: it goes, and the next judgement proposes again from the branch as it is now.
# Exit 1 from `advance` is a decision (a canary aborts, its pull request is proposed), not a failure.
set -euo pipefail
environment="${1:?usage: rollout-advance.sh ENVIRONMENT}"
[[ $environment =~ ^[a-z0-9][a-z0-9-]*$ ]] || { echo "environment name '$environment' refused" >&2; exit 2; }

gh auth setup-git
git fetch --quiet origin "+refs/heads/rollout/*:refs/remotes/origin/rollout/*"
heads=$(gh pr list --state open --limit 1000 --json headRefName --jq '.[].headRefName')
git for-each-ref --format='%(refname:lstrip=3)' "refs/remotes/origin/rollout/" |
  while read -r branch; do
    [[ $branch == rollout/*/"$environment"/* ]] || continue
    if grep -qxF -- "$branch" <<< "$heads"; then
      git branch --quiet --force "$branch" "origin/$branch"
    else
      git push --quiet origin --delete "$branch"
    fi
  done

# The workflow installs the `modelops` command; the image runs the package as a module.
if command -v modelops > /dev/null; then modelops=(modelops); else modelops=(python -m modelops); fi
status=0
"${modelops[@]}" rollout advance --env "$environment" || status=$?
if [ "$status" -eq 1 ]; then
  echo "a canary in $environment was judged to abort; its pull request is proposed"
  exit 0
fi
exit "$status"
