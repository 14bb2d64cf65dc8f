"""Pictures of stored results (matplotlib, Agg backend): no database, no domain rules."""
