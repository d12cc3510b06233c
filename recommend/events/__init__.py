"""Reader events in: API ingestion, erasure, interaction files and simulated traffic."""
