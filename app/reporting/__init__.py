"""What people look at: the show table, report charts (matplotlib, Agg backend) and their data,
read from stored documents through the repositories."""
