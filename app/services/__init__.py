"""Services: orchestrate repositories and the domain; own transactions and logging."""
