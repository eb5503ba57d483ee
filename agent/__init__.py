"""Atelier's core: a typed async library for conversational image work on the Responses API.

It never imports Chainlit; the ``ui`` package renders what this library yields.
"""
