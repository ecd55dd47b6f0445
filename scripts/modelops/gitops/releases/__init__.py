"""Release transitions: what one model runs in one environment and how a promotion moves it."""
