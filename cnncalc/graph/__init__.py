"""Graph: the spec expanded (blocks, repeat, ids) into a flat DAG of layer nodes."""

from .expand import Graph, Group, Node, expand

__all__ = ["Graph", "Group", "Node", "expand"]
