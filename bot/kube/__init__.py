"""Kubernetes workloads: where their kinds live, their selectors, images and rollouts. Pure."""

from bot.kube.kinds import KINDS, WORKLOADS

__all__ = ["KINDS", "WORKLOADS"]
