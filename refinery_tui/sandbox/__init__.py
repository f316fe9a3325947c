"""The local AWS sandbox: moto for the AWS APIs, plus a Lambda host that runs the deployed zips."""

from .server import NotLoopback, PortInUse, Sandbox

__all__ = ["NotLoopback", "PortInUse", "Sandbox"]
