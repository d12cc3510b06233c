"""Tests of AI media: narrations, clips, podcasts, briefings."""
