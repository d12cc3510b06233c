"""REST endpoints of the recommend app: events, erasure, feeds, audiences, digests."""
