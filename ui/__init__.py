"""The Chainlit front end: renders agent events, forwards user actions. Thin by design."""
