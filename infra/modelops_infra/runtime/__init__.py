"""Standard-library programs the stack ships to pods as ConfigMaps; never imported by the stack.

Each runs in an image this package does not control, so it imports nothing beyond Python's standard
library. The stack reads them by path, here, at program time: the ConfigMap holds the file as committed.
"""

from pathlib import Path

# The `mlflow-users` Job in namespace mlflow: MLflow's basic-auth users and grants (registry_users).
MLFLOW_USERS_APPLY = Path(__file__).with_name("mlflow_users_apply.py")
# The dispatch relay beside Alertmanager: firing alerts as GitHub repository_dispatch events.
DISPATCH_RELAY = Path(__file__).with_name("dispatch_relay.py")
