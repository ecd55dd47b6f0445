"""Rightsizing: a release's requests and limits from its usage history in Prometheus, proposed as a
pull request (`modelops rightsize`). `recommend` decides (pure); `prometheus` reads, `propose` writes."""

from modelops.rightsizing.recommend import Recommendation, recommend
from modelops.rightsizing.usage import Resources, Usage

__all__ = ["Recommendation", "Resources", "Usage", "recommend"]
