"""Custom checkov checks for the manifests under gitops/ (loaded with `--external-checks-dir`).

checkov only loads checks from folders that hold an `__init__.py`, and it imports each `.py` here
under its bare file name (`sys.modules[<file name>]`): every file is prefixed `modelops_` or
`_modelops_` so that none can shadow a standard or checkov module.
"""
