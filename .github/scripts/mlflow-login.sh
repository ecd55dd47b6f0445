#!/usr/bin/env bash
# Log the job in to MLflow: read {"username", "password"} from the Secrets Manager secret named by
# $SECRET_ID (with the OIDC role already assumed), mask the password, and hand both to later
# steps through $GITHUB_ENV as MLflow's basic-auth variables.
set -euo pipefail
: "${SECRET_ID:?set SECRET_ID to the secret holding the MLflow login}"
secret=$(aws secretsmanager get-secret-value --secret-id "$SECRET_ID" --query SecretString --output text)
password=$(jq -r .password <<<"$secret")
echo "::add-mask::$password"
{
  echo "MLFLOW_TRACKING_USERNAME=$(jq -r .username <<<"$secret")"
  echo "MLFLOW_TRACKING_PASSWORD=$password"
} >> "$GITHUB_ENV"
