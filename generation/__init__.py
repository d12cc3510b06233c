"""AI drafting of articles and media for editors to approve."""
