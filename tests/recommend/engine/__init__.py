"""Tests for the Django-free recommender engine."""
