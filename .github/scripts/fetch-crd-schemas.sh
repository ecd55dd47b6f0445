#!/usr/bin/env bash
# Fetch the CRD JSON schemas `modelops validate` checks custom resources against, into
# ../shared/schemas/crds (where the project looks by default), and verify every file against
# the sha256 sums committed in .github/crd-schemas.sha256. Any mismatch fails the job.
set -euo pipefail
# The public catalog the schemas come from, pinned to one commit (see ../shared/schemas/README).
readonly CATALOG="https://raw.githubusercontent.com/datreeio/CRDs-catalog/7b1e26ef9deea49293714d204c1a2270aab1178f"
root="$(cd "$(dirname "$0")/../.." && pwd)"
sums="$root/.github/crd-schemas.sha256"
target="$root/../shared/schemas/crds"
mkdir -p "$target"
cd "$target"
while read -r _ path; do
  curl --fail --silent --show-error --location --retry 3 --max-time 60 \
    --create-dirs --output "$path" "$CATALOG/$path"
done < "$sums"
sha256sum --check --strict --quiet "$sums"
echo "CRD schemas verified in $target"
