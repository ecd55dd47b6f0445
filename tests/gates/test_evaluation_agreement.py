"""DeLong's verdicts on the AUC regression rule equal those of the 1,000-resample paired bootstrap.

Both methods estimate the same interval, so near the policy's boundary they may legitimately land
on either side of it by Monte Carlo error alone. Each case below therefore also asserts how far
the bootstrap's lower bound sits from the boundary (in interval widths), so a case that drifts onto
the boundary fails as such, and asserts that the bounds themselves agree, which is the claim that
matters on the boundary too.
"""

import numpy as np
import pytest

from modelops.config.environment import EvaluationPolicy
from modelops.gates import check_evaluation


def _paired_scores(
    n: int, *, challenger: float, champion: float, seed: int = 0, decimals: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two models of the same labels whose errors are correlated (0.7), as two models of one data set are."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    shared = rng.normal(size=n)

    def scores(strength: float) -> np.ndarray:
        noise = 0.7 * shared + np.sqrt(1 - 0.7**2) * rng.normal(size=n)
        values = 1 / (1 + np.exp(-(strength * (y - 0.5) + noise)))
        return values.round(decimals) if decimals is not None else values

    return y, scores(challenger), scores(champion)


# name: (data, max_regression.roc_auc, expected verdict)
CASES = {
    "clear win": (dict(n=3000, challenger=2.0, champion=1.2), 0.01, True),
    "clear loss": (dict(n=3000, challenger=1.0, champion=1.8), 0.02, False),
    "tie within tolerance": (dict(n=3000, challenger=1.5, champion=1.5), 0.03, True),
    "tie, no regression allowed": (dict(n=3000, challenger=1.5, champion=1.5, seed=1), 0.0, False),
    "small n (80 rows), win": (dict(n=80, challenger=3.0, champion=0.8), 0.05, True),
    "small n (80 rows), loss": (dict(n=80, challenger=0.5, champion=2.5), 0.05, False),
    "small n (80 rows), tie": (dict(n=80, challenger=1.5, champion=1.5), 0.05, True),
    "heavily tied scores": (dict(n=2000, challenger=1.6, champion=1.5, decimals=1), 0.02, True),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_delong_and_the_bootstrap_reach_the_same_verdict(case):
    data, allowed, expected = CASES[case]
    y, challenger, champion = _paired_scores(**data)
    policy = EvaluationPolicy(minimums={}, max_regression={"roc_auc": allowed}, bootstrap_samples=1000)
    results = {
        method: check_evaluation(y, challenger, champion, metrics=["roc_auc"], policy=policy, interval=method)
        for method in ("delong", "bootstrap")
    }
    assert results["delong"].passed == results["bootstrap"].passed == expected
    delong, bootstrap = (results[m].measured["metrics"][0]["delta_ci"] for m in ("delong", "bootstrap"))
    width = bootstrap[1] - bootstrap[0]
    assert abs(bootstrap[0] + allowed) > 0.15 * width, "the case sits on the boundary: pick a clearer one"
    assert delong == [pytest.approx(bound, abs=0.1 * width) for bound in bootstrap]
