"""On the demo's own models and holdout, DeLong's evaluation verdicts equal the 1,000-resample bootstrap's."""

import numpy as np
import pytest

from modelops.config import load_environment, load_model_policy
from modelops.demo.dataset import LABEL, demo_split, load_german_credit
from modelops.demo.models import demo_models, fit, leaky_model
from modelops.demo.run import ENVIRONMENT, MODEL
from modelops.gates import check_evaluation
from modelops.pipeline.scoring import positive_scores


@pytest.fixture(scope="module")
def demo_scores(repo_root) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Every demo model's positive-class scores on the pinned holdout, fitted as the demo fits them."""
    policy = load_model_policy(MODEL, root=repo_root)
    training, holdout = demo_split(load_german_credit())
    leaky, leaked = leaky_model(training, holdout)
    fitted = [(model, fit(model, training)) for model in demo_models(training)]
    fitted.append((leaky, fit(leaky, leaked)))
    features = holdout.drop(columns=[LABEL])
    y = (holdout[LABEL] == policy.positive_class).to_numpy().astype(int)
    return y, {
        model.key: positive_scores(pipeline, features, positive_class=policy.positive_class, what=model.key)
        for model, pipeline in fitted
    }


@pytest.mark.parametrize("challenger", ["better", "biased", "leaky"])
def test_the_demo_challengers_get_the_same_evaluation_verdict_from_both_methods(
    demo_scores, challenger, repo_root
):
    y, scores = demo_scores
    policy = load_environment(ENVIRONMENT).promotion.evaluation
    metrics = load_model_policy(MODEL, root=repo_root).metrics
    results = {
        method: check_evaluation(
            y, scores[challenger], scores["champion"], metrics=metrics, policy=policy, interval=method
        )
        for method in ("delong", "bootstrap")
    }
    assert results["delong"].passed == results["bootstrap"].passed
    auc = {m: next(r for r in results[m].measured["metrics"] if r["metric"] == "roc_auc") for m in results}
    width = auc["bootstrap"]["delta_ci"][1] - auc["bootstrap"]["delta_ci"][0]
    assert auc["delong"]["delta_ci"] == [
        pytest.approx(b, abs=0.1 * width) for b in auc["bootstrap"]["delta_ci"]
    ]
