"""The gitops/ tree: releases per environment, rollouts, validation, and the git around them."""
