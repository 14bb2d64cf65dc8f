"""Importers: CSV files of the KapMan tables and Cboe option-chain downloads, parsed, merged,
counted and loaded through the repositories."""
