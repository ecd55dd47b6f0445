"""Where MLflow keeps runs and artifacts, and who may read them, per target.

AWS: RDS Postgres, an S3 bucket and the server's IRSA role. Local (target kubernetes): Postgres and
MinIO in the cluster, and MinIO users in place of Pod Identity. Declared inside the Registry component.
"""
