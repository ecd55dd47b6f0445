"""The one error type that means "the input was unusable" (exit code 2).

Anything raised as `InputError` is shown to the user as a single line naming the
file, field or model version at fault; every other exception is a bug and keeps
its traceback.
"""


class InputError(Exception):
    """Unusable input: a bad file, a missing model version, an unreachable registry."""


EXIT_PASSED = 0
EXIT_GATE_FAILED = 1
EXIT_INPUT_ERROR = 2


class PolicyRefusal(Exception):
    """The request was understood and the policy says no (exit code 1), e.g. a skipped environment."""
