"""The public entry points a pipeline imports: run_dealer_metrics, run_volatility_metrics, run_daily
and run_demo. Each builds its jobs and hands them to the batch engine."""
