"""Shipped in every deployed function: the Lambda handler, its state store and log lines; node/ is its twin."""
