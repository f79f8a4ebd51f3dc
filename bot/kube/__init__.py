"""Kubernetes workloads: where their kinds live, their selectors, images and rollouts. Pure."""

from bot.kube.kinds import KINDS

__all__ = ["KINDS"]
