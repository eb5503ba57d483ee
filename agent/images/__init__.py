"""Image rules: sizes and tool options, uploads, masks, previews and base64."""
