"""How the platform serves a model: the runtime, the name a model answers to, where its payloads go."""
