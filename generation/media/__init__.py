"""AI media of the generation app: narrations, clips, podcast feeds and briefings."""
