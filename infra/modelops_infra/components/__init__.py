"""The platform's parts, one Pulumi ComponentResource each, and the helpers only they use.

Every component takes a typed `...Args`, names its children after itself, creates them with
`parent=self` and registers its outputs last. Which parts a stack gets is decided in platform.py.
"""
