"""KapMan's pipeline entry points (`python -m scripts.run_a3_dealer_metrics`, …): thin aliases of `kapman`."""
