"""The platform's rules for what gitops/ may hold, each once, as pure functions returning findings."""
