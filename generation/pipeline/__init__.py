"""The generation pipeline: retrieve, write, media, check, save."""
