"""Tests of the generation app: providers, pipeline, jobs, API and command."""
