"""The dataset: label each page with the request a person would type for it (label), then write the prompt
dataset (prompts). Stages of tinyweb.pipeline like those of tinyweb.compress."""
