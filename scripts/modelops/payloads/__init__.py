"""Logged inference payloads: the sink that stores KServe's CloudEvents and the layout they are stored in."""
