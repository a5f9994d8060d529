"""Compress: snapshots into training pages. clean → topics → framework → convert → verify, each one module
with one entry point; tinyweb.pipeline runs them in order over OUT/ and passes each what the one before made."""
