"""Text and image providers: offline defaults and OpenAI-compatible servers."""
