"""The turn loop: requests, the model seam, stream reading, events and retries."""
