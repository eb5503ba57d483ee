"""The turn loop: sessions, turns, requests, the model seam, stream translation, events."""
