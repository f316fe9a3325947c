"""Tests of the cloud layer: packaging, IAM, the deployer and the sandbox."""
