"""The CMS site: content models, content API, API keys and demo content."""
