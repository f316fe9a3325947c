"""The local AWS sandbox: moto for the AWS APIs, plus a Lambda host that runs the deployed zips."""

from .server import PortInUse, Sandbox

__all__ = ["PortInUse", "Sandbox"]
