"""GitOps policy-as-code reconciler for AWS End User Messaging SMS and AWS RAM."""

__version__ = "0.1.0"
