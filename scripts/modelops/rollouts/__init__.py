"""Progressive delivery: canary analysis, its history, and the plans and sizes learned from it."""
