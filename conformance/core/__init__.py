"""Core layer: media types, multipart/related, DICOM JSON, UIDs and the error families.

Nothing in here performs I/O against a target; every module is a set of pure functions and
frozen values that the client, the checks and the reference-server tests build on.
"""
