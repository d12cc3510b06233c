"""Training: event snapshot to evaluated, stored and promoted model; its schedules."""
