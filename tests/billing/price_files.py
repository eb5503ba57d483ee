"""Price files the billing tests share."""

ACME_TOML = """
[provider]
name = "Acme AI"
base_url = "https://api.acme.example/v1"

[models."gpt-image-2"]
per_image = "0.04"

[models."gpt-5.1"]
text_input_mtok = "1.0"
text_output_mtok = "8.0"
cached_text_input_mtok = "0.1"
per_call = "0.001"

[models."gpt-image-1.5"]
text_input_mtok = "4"
image_input_mtok = "6"
image_output_mtok = "25"
"""
